"""What the writer repairs a damaged index from (writer only, under the write lock).

- A damaged manifest: ``index --rebuild`` recovers the list of indexed articles from what survives,
  the chunk metadata in the vector store (article id, source, title) and the stored texts (whose
  hash is the article id), so the rebuild keeps every article, not only those in ``seeds/``.
- A missing or damaged stored text: taken again from the article's source file when that file
  still holds the same text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rag.articles.chunking import text_hash
from rag.articles.ingest import is_url, make_article, read_article
from rag.config import Settings
from rag.errors import IndexUnavailable, InputError
from rag.index import store
from rag.index.folder import read_article_text, stored_text_ok, write_article_text
from rag.index.manifest import MANIFEST, PENDING, DamagedManifest, Manifest, read_manifest, remove_manifest
from rag.types import Article, Meta

log = logging.getLogger(__name__)


def recover(index_dir: Path, client: Any, settings: Settings, notes: list[str]) -> Manifest | None:
    """For a rebuild over a damaged manifest: the articles it listed, recovered (None, and the
    damaged file removed, when nothing is left to recover)."""
    owner = store.owner_tag(index_dir, settings.chroma_url)
    found = recover_manifest(index_dir, client, owner, settings.max_file_bytes)
    if found is None:
        remove_manifest(index_dir, MANIFEST)
        notes.append(f"{MANIFEST} was damaged and nothing else was left to recover; built anew")
    else:
        notes.append(
            f"{MANIFEST} was damaged; recovered {len(found.articles)} article(s) "
            "from the vector store and the stored texts"
        )
    return found


def pending(index_dir: Path, notes: list[str]) -> Manifest | None:
    """The unfinished staged build to resume; a damaged one is dropped (that build starts over)."""
    try:
        return read_manifest(index_dir, PENDING)
    except DamagedManifest:
        notes.append(f"dropped an unfinished build: its {PENDING} was damaged")
        return None


def recover_manifest(index_dir: Path, client: Any, owner: str | None, max_bytes: int) -> Manifest | None:
    """A manifest listing every article whose chunks the store holds and whose text is stored (or
    still in its source file); its collections are the old ones, dropped once the rebuild is done.
    None when nothing can be recovered."""
    names = [n for n in store.collection_names(client) if owner is None or store.owner_of(client, n) == owner]
    if not names:
        return None
    metas: dict[str, Mapping[str, Any]] = {}
    for name in names:
        got = client.get_collection(name).get(include=["metadatas"])
        for meta in got["metadatas"] or []:
            aid = (meta or {}).get("article_id")
            if isinstance(aid, str) and aid not in metas and isinstance(meta.get("source"), str):
                metas[aid] = meta
    articles: dict[str, dict[str, Any]] = {}
    for aid, meta in metas.items():
        source, title = str(meta["source"]), str(meta.get("title") or meta["source"])
        art = stored_article(index_dir, aid, {"source": source, "title": title}, max_bytes)
        if art is None:
            log.warning("cannot recover %s: its stored text and its file are gone", source)
            continue
        articles[aid] = {
            "source": source,
            "title": title,
            "lang": art.lang,
            "chunks": 0,
            "chars": len(art.text),
            "sha": text_hash(art.text),
        }
    log.debug("recovered %d article(s) from the vector store and the stored texts", len(articles))
    return Manifest(
        embedding={"name": "recovered", "dim": 0},
        collections={f"recovered{i}": n for i, n in enumerate(names)},
        fingerprint="",
        articles=articles,
    )


def restore_texts(
    index_dir: Path, metas: Mapping[str, Mapping[str, Any]], skip: set[str], max_bytes: int, notes: list[str]
) -> tuple[list[tuple[Article, str]], list[str]]:
    """Check the stored text of every listed article not in ``skip`` (its hash). A lost one is
    taken again from its file when that holds the same text; when the file changed, its article
    now is returned to be indexed in place of the old (with the old id); when it is gone, the old
    id is returned to be removed. A line for each goes to ``notes``."""
    write: list[tuple[Article, str]] = []
    remove: list[str] = []
    for aid, meta in metas.items():
        if aid in skip or stored_text_ok(index_dir, aid, meta.get("sha")):
            continue
        if stored_article(index_dir, aid, meta, max_bytes, notes) is not None:
            continue
        now = from_source(meta["source"], max_bytes)
        if now is not None and now.id not in metas:
            write.append((now, aid))
            notes.append(f"the stored text of {meta['source']} was lost; indexed the file as it is now")
        else:
            remove.append(aid)
            notes.append(
                f"removed {meta['source']} from the index: its stored text was lost and its file is gone "
                "or changed; index the file again"
            )
    return write, remove


def stored_article(
    index_dir: Path, aid: str, meta: Mapping[str, Any], max_bytes: int, notes: list[str] | None = None
) -> Article | None:
    """An indexed article read back from the index. When its stored text is missing or damaged,
    it is taken again from its source file, if that holds the same text, and stored again (a line
    goes to ``notes``); None when neither has it."""
    source, title = meta["source"], meta["title"]
    try:
        text = read_article_text(index_dir, aid, meta.get("sha"))
        lang = meta.get("lang") or make_article(text, source, title).lang
        return Article(aid, source, title, text, lang, Meta.of_entry(meta))
    except IndexUnavailable:
        pass
    art = from_source(source, max_bytes)
    if art is None or art.id != aid:
        return None
    write_article_text(index_dir, aid, art.text)
    if notes is not None:
        notes.append(f"restored the stored text of {source} from its file")
    return Article(aid, source, title, art.text, meta.get("lang") or art.lang, Meta.of_entry(meta) or art.meta)


def from_source(source: str, max_bytes: int) -> Article | None:
    """The article its source file holds now; None for a web address (not fetched for a repair)
    or a file that is gone or unusable."""
    if is_url(source) or not Path(source).is_file():
        return None
    try:
        return read_article(Path(source), source, max_bytes).article
    except InputError:
        return None
