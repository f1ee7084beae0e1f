"""The index folder's own files: what may sit in it, the room a run needs, and the article texts
every citation offset refers to (``articles/<id>.txt``), read lazily through a ``Shelf``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rag.articles.chunking import text_hash
from rag.errors import IndexUnavailable
from rag.index.lexicon_file import FILE as LEXICON
from rag.index.manifest import MANIFEST, PENDING, atomic_write
from rag.types import Article, Meta

# What may sit in an index folder; a writer refuses a folder holding anything else.
INDEX_ID = ".index-id"
_OWN_NAMES = {MANIFEST, PENDING, "articles", "chroma", ".write.lock", ".gitkeep", INDEX_ID, LEXICON}


def remove_stray_files(index_dir: Path, keep_articles: set[str]) -> None:
    """Delete article texts no manifest lists and temp files of interrupted writes (writer only)."""
    folder = index_dir / "articles"
    for path in [*folder.glob("*.txt"), *folder.glob(".*.tmp"), *index_dir.glob(".*.tmp")]:
        if path.suffix == ".tmp" or path.stem not in keep_articles:
            path.unlink(missing_ok=True)


def check_index_dir(index_dir: Path) -> None:
    """Refuse to write into a file, or into a folder that holds anything but an index."""
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexUnavailable(f"{index_dir} is a file, not an index folder; give a folder with --index-dir.")
    if not index_dir.is_dir():
        return
    foreign = sorted(p.name for p in index_dir.iterdir() if p.name not in _OWN_NAMES and not p.name.endswith(".tmp"))
    if foreign:
        raise IndexUnavailable(
            f"{index_dir} is not an index folder (it holds {foreign[0]!r}); "
            "give an empty or new folder with --index-dir."
        )


# Disk space a run needs, estimated with room to spare so that a disk too full for it is told
# before anything is written (a store that runs out of space mid-write cannot be read again until
# space is freed). Per chunk: the vectors of both encoders with their log and graph copies, the
# metadata, the sentence vectors (about 23 KB measured on the seed setup; kept remotely in
# server mode); plus the lexicon and manifest, which are rewritten whole.
SPACE_PER_CHUNK = 64 * 1024
SPACE_PER_CHUNK_SERVER = 4 * 1024
SPACE_FIXED = 256 * 1024


def check_space(index_dir: Path, texts: list[str], max_chars: int, server: bool) -> None:
    """Refuse, before writing, a run the disk holding ``index_dir`` has clearly no room for."""
    if not texts:
        return
    chunks = sum(len(t) // max(max_chars // 2, 1) + 1 for t in texts)
    rewritten = sum(p.stat().st_size for p in (index_dir / LEXICON, index_dir / MANIFEST) if p.is_file())
    per_chunk = SPACE_PER_CHUNK_SERVER if server else SPACE_PER_CHUNK
    need = SPACE_FIXED + rewritten + chunks * per_chunk + 4 * sum(len(t.encode("utf-8")) for t in texts)
    free = shutil.disk_usage(index_dir).free
    if free < need:
        raise IndexUnavailable(
            f"The disk holding {index_dir} is too full for this run ({free / 1e6:.1f} MB free, about "
            f"{need / 1e6:.1f} MB needed); the index keeps its last complete state. Free some space, then run: "
            "python -m rag index"
        )


def article_path(index_dir: Path, article_id: str) -> Path:
    return index_dir / "articles" / f"{article_id}.txt"


def write_article_text(index_dir: Path, article_id: str, text: str) -> None:
    path = article_path(index_dir, article_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)


def read_article_text(index_dir: Path, article_id: str, sha: str | None = None) -> str:
    """The stored text of an article; ``IndexUnavailable`` when it is missing, or when it is not
    the text the index was built from (its hash is not ``sha``)."""
    path = article_path(index_dir, article_id)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise IndexUnavailable(
            f"The stored text of article {article_id} is missing from {index_dir}; restore it with: python -m rag index"
        ) from exc
    except (OSError, ValueError) as exc:  # unreadable, or bytes that are not UTF-8
        raise _damaged_text(index_dir, article_id) from exc
    if sha and text_hash(text) != sha:
        raise _damaged_text(index_dir, article_id)
    return text


def stored_text_ok(index_dir: Path, article_id: str, sha: str | None) -> bool:
    """True when the article's stored text is there and (with ``sha``) is the text indexed."""
    try:
        read_article_text(index_dir, article_id, sha)
    except IndexUnavailable:
        return False
    return True


def _damaged_text(index_dir: Path, article_id: str) -> IndexUnavailable:
    return IndexUnavailable(
        f"The stored text of article {article_id} in {index_dir} is damaged; restore it with: python -m rag index"
    )


class Shelf(Mapping[str, Article]):
    """The indexed articles by id, each read from its file the first time it is asked for: a question
    cites a handful, so opening an index of thousands does not read them all."""

    def __init__(self, index_dir: Path, metas: Mapping[str, Mapping[str, Any]]) -> None:
        self._dir = index_dir
        self._metas = metas
        self._read: dict[str, Article] = {}

    def __getitem__(self, article_id: str) -> Article:
        found = self._read.get(article_id)
        if found is None:
            m = self._metas[article_id]
            text = read_article_text(self._dir, article_id, m.get("sha"))
            found = Article(article_id, m["source"], m["title"], text, m.get("lang", "de"), Meta.of_entry(m))
            self._read[article_id] = found
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._metas)

    def __len__(self) -> int:
        return len(self._metas)
