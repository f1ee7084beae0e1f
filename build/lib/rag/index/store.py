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
import functools
import hashlib
import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rag.articles.chunking import CHUNKER_VERSION, text_hash
from rag.config import Settings
from rag.errors import IndexUnavailable
from rag.index.folder import INDEX_ID
from rag.index.manifest import Manifest, atomic_write
from rag.types import Chunk

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "chunks-"
BATCH = 32


def fingerprint(settings: Settings, encoders: Sequence[Any]) -> str:
    """What shapes the stored vectors: a change here means a new collection."""
    key = "|".join([*(f"{e.name}:{e.dim}" for e in encoders), str(settings.chunk.max_chars), CHUNKER_VERSION])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


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
