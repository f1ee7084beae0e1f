"""What is wrong with an index, each problem in one line with the command that repairs it.

``python -m rag status`` runs these checks and exits with 2 when any fails. Questions run the
cheap ones as they open the index (rag.retrieve), writers the rest as they go (rag.indexer).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import IndexUnavailable, disk_error, read_only_index
from rag.index import lexicon_file, store
from rag.index.folder import stored_text_ok
from rag.index.manifest import Manifest, read_manifest


def precheck(settings: Settings) -> Manifest:
    """What a question checks first, before the models load (seconds): the manifest reads and, for
    the embedded store, its folder is there and may be opened."""
    index_dir = settings.index_dir
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexUnavailable(
            f"{index_dir} is not an index; build it with: python -m rag index --index-dir {index_dir}"
        )
    if settings.chroma_url is None:
        check_vector_store(index_dir)
        if not writable(index_dir):
            raise IndexUnavailable(read_only_index(index_dir))
    return manifest


def problems(settings: Settings, manifest: Manifest) -> list[str]:
    """One line per thing wrong with the index ``manifest`` describes; empty when all is well."""
    index_dir = settings.index_dir
    found = []
    metas = manifest.articles
    lost = [m["source"] for aid, m in metas.items() if not stored_text_ok(index_dir, aid, m.get("sha"))]
    if lost:
        more = f" and {len(lost) - 1} more" if len(lost) > 1 else ""
        found.append(
            f"The stored text of {lost[0]}{more} is missing or damaged in {index_dir}; "
            "restore it with: python -m rag index"
        )
    damaged = lexicon_file.check(index_dir)
    if damaged:
        found.append(damaged)
    if settings.chroma_url is not None:
        return found  # the server's vectors: see the status line on them
    if not writable(index_dir):
        found.append(read_only_index(index_dir))
        return found  # the embedded vector store cannot even be opened for reading
    try:
        found.extend(_vector_problems(index_dir, manifest))
    except IndexUnavailable as exc:
        found.append(str(exc))
    return found


def _vector_problems(index_dir: Path, manifest: Manifest) -> list[str]:
    client = reader_client(index_dir, None, manifest)
    expected = sum(m["chunks"] for m in manifest.articles.values())
    counts = [client.get_collection(name).count() for name in manifest.collections.values()]
    if all(n == expected for n in counts):
        return []
    return [
        f"The vector store of {index_dir} holds {' and '.join(map(str, counts))} chunks where {expected} are "
        "indexed; make the missing ones again with: python -m rag index"
    ]


def check_vector_store(index_dir: Path) -> None:
    """Refuse an embedded index whose Chroma store is gone: opening it would make an empty one,
    and every question would find nothing."""
    if not (index_dir / "chroma" / "chroma.sqlite3").is_file():
        raise IndexUnavailable(
            f"The vector store of {index_dir} (chroma/) is missing; make it again from the stored "
            "article texts with: python -m rag index"
        )


def reader_client(index_dir: Path, chroma_url: str | None, manifest: Manifest) -> Any:
    """A client for reading the index ``manifest`` describes, or ``IndexUnavailable`` saying why
    its vectors cannot be read and what repairs that."""
    if chroma_url is None:
        check_vector_store(index_dir)
    try:
        client = store.make_client(index_dir, chroma_url)
        have = set(store.collection_names(client))
    except IndexUnavailable:
        raise
    except Exception as exc:  # Chroma raises several types; a disk or permission problem is said as such
        failed = disk_error(exc, index_dir, writing=False)
        if failed is not None:
            raise failed from exc
        raise IndexUnavailable(
            f"The vector store of {index_dir} cannot be opened ({type(exc).__name__}: {exc}); delete or move "
            f"away {index_dir / 'chroma'} and run: python -m rag index (the vectors are made again from "
            "the stored texts)"
        ) from exc
    lost = [name for name in manifest.collections.values() if name not in have]
    if lost:
        raise IndexUnavailable(
            f"The vector store of {index_dir} lacks {len(lost)} of the index's {len(manifest.collections)} "
            "collection(s); make them again from the stored article texts with: python -m rag index"
        )
    return client


def writable(index_dir: Path) -> bool:
    """Whether this process may write the index folder and its embedded vector store."""
    parts = [index_dir, index_dir / "chroma", index_dir / "chroma" / "chroma.sqlite3"]
    return all(os.access(p, os.W_OK) for p in parts if p.exists())
