"""The persisted index: Chroma collections, a manifest of indexed articles, their texts, a writer lock.

Layout of the index folder::

    manifest.json       what is indexed (articles, model, collections); replaced atomically
    manifest.next.json  a build into new collections (new model or chunking) still under way
    articles/<id>.txt   the article text every citation offset refers to
    chroma/             the embedded Chroma store (absent in server mode)
    .write.lock         held by the single writer
    .index-id           server mode: tags this index's collections on a Chroma server others may share

In server mode (``RAG_CHROMA_URL``) the vectors live on the server and everything else stays in
this folder, which every process that reads or writes the index must share.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rag.chunking import text_hash
from rag.errors import IndexUnavailable, disk_error
from rag.manifest import (  # noqa: F401  (the index's parts are reached through this module)
    MANIFEST,
    PENDING,
    Manifest,
    atomic_write,
    read_manifest,
    remove_manifest,
    write_manifest,
)
from rag.types import Article, Chunk

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "chunks-"
BATCH = 32
# What may sit in an index folder; a writer refuses a folder holding anything else.
INDEX_ID = ".index-id"
_OWN_NAMES = {MANIFEST, PENDING, "articles", "chroma", ".write.lock", ".gitkeep", INDEX_ID, "lexicon.npz"}


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
    rewritten = sum(p.stat().st_size for p in (index_dir / "lexicon.npz", index_dir / MANIFEST) if p.is_file())
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
            found = Article(article_id, m["source"], m["title"], text, m.get("lang", "de"))
            self._read[article_id] = found
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._metas)

    def __len__(self) -> int:
        return len(self._metas)


class WriteSession:
    """What a writer holding the lock opened: its store clients, closed when the write fails so
    that a store left mid-write (e.g. on a full disk) holds no file locks in this process."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self._clients: list[Any] = []

    def client(self, chroma_url: str | None) -> Any:
        made = writer_client(self.index_dir, chroma_url)
        self._clients.append(made)
        return made

    def close(self) -> None:
        for made in self._clients:
            close_client(made)
        self._clients.clear()


@contextlib.contextmanager
def writer_lock(index_dir: Path, wait: float = 0.0) -> Iterator[WriteSession]:
    """Hold the single-writer lock of ``index_dir``; wait up to ``wait`` seconds for it. A write
    that fails for want of disk space or write access ends as a one-line ``IndexUnavailable``."""
    check_index_dir(index_dir)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        fh = open(index_dir / ".write.lock", "a+")
    except OSError as exc:
        failed = disk_error(exc, index_dir)
        if failed is None:
            raise
        raise failed from exc
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            if time.monotonic() >= deadline:
                fh.close()
                raise IndexUnavailable(
                    f"{index_dir} is being updated by {holder}; wait for it to finish and run again "
                    "(or give --wait SECONDS)."
                ) from None
            if not told:
                log.warning("%s is being updated by %s; waiting up to %g s for it", index_dir, holder, wait)
                told = True
            time.sleep(0.2)
    session = WriteSession(index_dir)
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"process {os.getpid()}")
        fh.flush()
        yield session
    except BaseException as exc:
        session.close()
        failed = disk_error(exc, index_dir) if isinstance(exc, Exception) else None
        if failed is None:
            raise
        reset_client_cache()  # the next client starts from what is on disk, not from a failed store
        raise failed from exc
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        with contextlib.suppress(OSError):  # flushing the holder's name may fail again on a full disk
            fh.close()


def make_client(index_dir: Path, chroma_url: str | None) -> Any:
    """An embedded Chroma client on ``index_dir/chroma``, or an HTTP client for a Chroma server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if not chroma_url:
        try:
            return chromadb.PersistentClient(path=str(index_dir / "chroma"), settings=settings)
        except Exception:
            reset_client_cache()  # a store that failed to start (e.g. a full disk) must not be reused
            raise
    url = urlparse(chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname or url.path.strip("/"):
        raise IndexUnavailable(f"RAG_CHROMA_URL={chroma_url!r} is not an http(s)://host:port URL.")
    port = url.port or (443 if url.scheme == "https" else 8000)
    _probe(chroma_url, f"{url.scheme}://{url.netloc}/api/v2/heartbeat")
    try:
        client = chromadb.HttpClient(host=url.hostname, port=port, ssl=url.scheme == "https", settings=settings)
        _bound_requests(client, chroma_url)
        client.heartbeat()
    except IndexUnavailable:
        raise
    except Exception as exc:  # connection errors come in many types
        raise IndexUnavailable(
            f"Cannot reach the Chroma server at {chroma_url}; start it or unset RAG_CHROMA_URL."
        ) from exc
    return client


# Seconds a Chroma server gets: to accept a connection and answer the first heartbeat, and to
# answer any later request. The client library waits forever by default, so a server that
# accepts connections but never answers would hang every ask.
CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 60.0


def _probe(chroma_url: str, heartbeat: str) -> None:
    """Fail fast, naming the URL, when nothing answers there or what answers is not Chroma."""
    import httpx

    try:
        resp = httpx.get(heartbeat, timeout=CONNECT_TIMEOUT)
    except httpx.TimeoutException as exc:
        raise IndexUnavailable(
            f"The Chroma server at {chroma_url} did not answer within {CONNECT_TIMEOUT:g} s; "
            "check that it is running and not overloaded, or unset RAG_CHROMA_URL."
        ) from exc
    except httpx.HTTPError as exc:
        raise IndexUnavailable(
            f"Cannot reach the Chroma server at {chroma_url} ({type(exc).__name__}); start it or unset RAG_CHROMA_URL."
        ) from exc
    if resp.status_code != 200 or "heartbeat" not in resp.text:
        raise IndexUnavailable(
            f"{chroma_url} answered but is not a Chroma 1.x server (HTTP {resp.status_code} for /api/v2/heartbeat); "
            "check RAG_CHROMA_URL."
        )


def _bound_requests(client: Any, chroma_url: str) -> None:
    """Give the HTTP client's session timeouts, and turn a lost connection into a one-line error
    naming the server. Reaches into the client (its ``_server._session``); skipped when absent."""
    import httpx

    server = getattr(client, "_server", None)
    session = getattr(server, "_session", None)
    if not isinstance(session, httpx.Client) or isinstance(session._transport, _server_transport()):
        if session is None:
            log.debug("the Chroma client has no HTTP session to bound; requests may wait without limit")
        return
    bounded = httpx.Client(
        timeout=httpx.Timeout(REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT),
        headers=session.headers,
        transport=_server_transport()(chroma_url, limits=server.http_limits),
    )
    server._session = bounded  # the system is shared by every client of this URL in the process
    session.close()


@functools.cache
def _server_transport() -> type:
    """The transport class, made on first use so that importing this module does not import httpx."""
    import httpx

    class ServerTransport(httpx.HTTPTransport):
        """Maps connection failures to ``IndexUnavailable`` with the server's URL."""

        def __init__(self, chroma_url: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.chroma_url = chroma_url

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            try:
                return super().handle_request(request)
            except httpx.TimeoutException as exc:
                raise IndexUnavailable(
                    f"The Chroma server at {self.chroma_url} did not answer in time; check that it is "
                    "running and not overloaded."
                ) from exc
            except httpx.TransportError as exc:
                raise IndexUnavailable(
                    f"Lost the connection to the Chroma server at {self.chroma_url} "
                    f"({type(exc).__name__}); start it again, or unset RAG_CHROMA_URL."
                ) from exc

    return ServerTransport


def collection_names(client: Any) -> list[str]:
    """Names of this program's collections in the store."""
    names = [c if isinstance(c, str) else c.name for c in client.list_collections()]
    return [n for n in names if n.startswith(COLLECTION_PREFIX)]


def owner_tag(index_dir: Path, chroma_url: str | None) -> str | None:
    """In server mode, the id that marks this index's collections (made on first use; writer only).
    None for the embedded store, where every collection in ``chroma/`` is this index's."""
    if not chroma_url:
        return None
    path = index_dir / INDEX_ID
    if not path.is_file():
        atomic_write(path, uuid.uuid4().hex)
    return path.read_text(encoding="utf-8").strip()


def open_collection(client: Any, name: str, encoder: Any, owner: str | None = None) -> Any:
    """A raw Chroma collection in cosine space, created when missing; vectors are always passed in.
    ``owner`` (server mode) is kept in the collection's metadata."""
    metadata: dict[str, Any] = {"embedding": encoder.name, "dim": encoder.dim}
    if owner:
        metadata["index"] = owner
    return client.get_or_create_collection(name, configuration={"hnsw": {"space": "cosine"}}, metadata=metadata)


def reset_client_cache() -> None:
    """Forget cached Chroma systems so a new client sees rows another process wrote."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def close_client(client: Any | None) -> None:
    """Release an embedded store's files and background work (an HTTP client has nothing to release)."""
    if client is not None and hasattr(client, "close"):
        with contextlib.suppress(Exception):  # already closed, or failed to start
            client.close()


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


def writer_client(index_dir: Path, chroma_url: str | None) -> Any:
    """A client for writing. A cached Chroma system may predate another process's writes, and
    writing through it would overwrite them: the writer always starts from what is on disk."""
    if chroma_url is None:
        reset_client_cache()
    return make_client(index_dir, chroma_url)


def existing_collections(client: Any, manifest: Manifest) -> list[Any]:
    have = set(collection_names(client))
    return [client.get_collection(n) for n in manifest.collections.values() if n in have]


def delete_collection(client: Any, name: str) -> None:
    try:
        client.delete_collection(name)
    except Exception:  # already gone is fine; Chroma raises several types for it
        log.debug("collection %s was already gone", name)


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    return {
        "article_id": chunk.article_id,
        "source": chunk.source,
        "title": chunk.title,
        "start": chunk.start,
        "end": chunk.end,
        "seq": chunk.seq,
        "hash": text_hash(chunk.text),
    }


def upsert_chunks(cols: list[Any], encoders: list[Any], chunks: list[Chunk]) -> int:
    """Write chunks into each encoder's collection. A chunk whose text is already stored keeps its
    vector instead of being embedded again. Returns how many chunks needed embedding."""
    embedded = 0
    for col, enc in zip(cols, encoders, strict=True):
        fresh_count = 0
        for i in range(0, len(chunks), BATCH):
            batch = chunks[i : i + BATCH]
            metas = [chunk_metadata(c) for c in batch]
            hashes = [m["hash"] for m in metas]
            known = col.get(where={"hash": {"$in": hashes}}, include=["embeddings", "metadatas"])
            cache = {
                m["hash"]: list(map(float, e)) for m, e in zip(known["metadatas"], known["embeddings"], strict=True)
            }
            missing = [c.text for c, h in zip(batch, hashes, strict=True) if h not in cache]
            fresh = iter(enc.embed_documents(missing))
            fresh_count += len(missing)
            vectors = [cache[h] if h in cache else next(fresh) for h in hashes]
            col.upsert(
                ids=[c.id for c in batch], embeddings=vectors, documents=[c.text for c in batch], metadatas=metas
            )
        embedded = max(embedded, fresh_count)
    return embedded


def drop_orphans(client: Any, manifests: list[Manifest], owner: str | None = None) -> None:
    """Remove what a crashed run left: collections no manifest names, chunks of unlisted articles.
    With ``owner`` (a server other indexes may share) only collections tagged with it are dropped."""
    names = {n for m in manifests for n in m.collections.values()}
    for name in collection_names(client):
        if name in names:
            continue
        if owner is not None and owner_of(client, name) != owner:
            log.debug("leaving collection %s alone: another index's", name)
            continue
        delete_collection(client, name)
    for manifest in manifests:
        keep = list(manifest.articles)
        for col in existing_collections(client, manifest):
            if keep:
                col.delete(where={"article_id": {"$nin": keep}})
            elif col.count():
                col.delete(ids=col.get(include=[])["ids"])


def owner_of(client: Any, name: str) -> str | None:
    try:
        return (client.get_collection(name).metadata or {}).get("index")
    except Exception:  # deleted meanwhile; Chroma raises several types for it
        return None
