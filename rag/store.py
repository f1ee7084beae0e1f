"""The persisted index: Chroma collections, a manifest of indexed articles, their texts, a writer lock.

Layout of the index folder::

    manifest.json     what is indexed (articles, model, collections); replaced atomically
    articles/<id>.txt the article text every citation offset refers to
    chroma/           the embedded Chroma store (absent in server mode)
    .write.lock       held by the single writer
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rag.errors import IndexUnavailable

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass
class Manifest:
    """What an index holds; readers trust only what it lists."""

    embedding: dict[str, Any]
    collections: dict[str, str]
    fingerprint: str
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)
    built_at: float = 0.0
    version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def read_manifest(index_dir: Path) -> Manifest | None:
    path = index_dir / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(**data)
    except (ValueError, TypeError) as exc:
        raise IndexUnavailable(
            f"{index_dir} holds a damaged manifest.json; rebuild it with: python -m rag index --rebuild"
        ) from exc


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically: readers see the old one or the new one."""
    manifest.built_at = time.time()
    _atomic_write(index_dir / MANIFEST, json.dumps(manifest.to_json(), ensure_ascii=False, indent=1))


def article_path(index_dir: Path, article_id: str) -> Path:
    return index_dir / "articles" / f"{article_id}.txt"


def write_article_text(index_dir: Path, article_id: str, text: str) -> None:
    path = article_path(index_dir, article_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, text)


def read_article_text(index_dir: Path, article_id: str) -> str:
    path = article_path(index_dir, article_id)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise IndexUnavailable(
            f"The text of article {article_id} is missing from {index_dir}; "
            "rebuild the index with: python -m rag index --rebuild"
        ) from exc


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def writer_lock(index_dir: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the single-writer lock of ``index_dir``; wait up to ``wait`` seconds for it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / ".write.lock"
    fh = open(path, "a+")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                fh.close()
                raise IndexUnavailable(
                    f"{index_dir} is being updated by {holder}; wait for it to finish, then run again."
                ) from None
            time.sleep(0.2)
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"process {os.getpid()}")
        fh.flush()
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def make_client(index_dir: Path, chroma_url: str | None) -> Any:
    """An embedded Chroma client on ``index_dir/chroma``, or an HTTP client for a Chroma server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if not chroma_url:
        return chromadb.PersistentClient(path=str(index_dir / "chroma"), settings=settings)
    url = urlparse(chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise IndexUnavailable(f"RAG_CHROMA_URL={chroma_url!r} is not an http(s)://host:port URL.")
    try:
        client = chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=settings,
        )
        client.heartbeat()
    except Exception as exc:  # connection errors come in many types
        raise IndexUnavailable(
            f"Cannot reach the Chroma server at {chroma_url}; start it or unset RAG_CHROMA_URL."
        ) from exc
    return client


def reset_client_cache() -> None:
    """Forget cached Chroma systems so a new client sees rows another process wrote."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def vectorstore(client: Any, name: str, embeddings: Any) -> Any:
    """A LangChain Chroma store over one collection (cosine space; vectors always passed in)."""
    from langchain_chroma import Chroma

    return Chroma(
        client=client,
        collection_name=name,
        embedding_function=embeddings,
        collection_configuration={"hnsw": {"space": "cosine"}},
        collection_metadata={"embedding": embeddings.name, "dim": embeddings.dim},
    )
