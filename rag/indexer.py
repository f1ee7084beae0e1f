"""Build and update the index: incremental, single-writer, and never visible half-built.

Order of writes for each article: its text file, then its chunks, then the manifest (atomic
rename). Readers only trust articles the manifest lists, so a crash at any point leaves the
previous index serving; the next run removes the orphaned chunks and finishes the job.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag import store
from rag.chunking import chunk_article, text_hash
from rag.config import Settings
from rag.errors import InputError
from rag.ingest import collect_files, read_article
from rag.types import Article, Chunk

log = logging.getLogger(__name__)

CHUNKER_VERSION = "s1"
BATCH = 32
Progress = Callable[[int, int, str], None]


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        dup = f", {len(self.duplicates)} duplicate(s) skipped" if self.duplicates else ""
        return (
            f"Indexed {len(self.added)} new, {len(self.replaced)} changed, {len(self.unchanged)} "
            f"unchanged, {len(self.removed)} removed article(s){dup}; embedded "
            f"{self.chunks_embedded} chunk(s), {self.chunks_total} in the index; {self.seconds:.1f} s."
        )


def fingerprint(settings: Settings, encoders: Sequence[Any]) -> str:
    """What shapes the stored vectors: a change here means a new collection."""
    key = "|".join([*(f"{e.name}:{e.dim}" for e in encoders), str(settings.chunk.max_chars), CHUNKER_VERSION])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


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


def load_articles(paths: Iterable[str | Path], settings: Settings) -> list[Article]:
    """Read and check every input before the index is touched, so bad input loses nothing."""
    files = collect_files(paths)
    if not files:
        raise InputError("No .txt, .md or .html articles found in the given paths.")
    return [read_article(p, source, settings.max_file_bytes) for p, source in files]


class Indexer:
    """Writes articles into the index under ``settings.index_dir``; one instance per run."""

    def __init__(self, settings: Settings, encoders: Sequence[Any], progress: Progress | None = None):
        self.settings = settings
        self.encoders = list(encoders)
        self.progress = progress or (lambda done, total, msg: None)
        self.dir = settings.index_dir

    def run(
        self,
        articles: Sequence[Article],
        prune_under: Sequence[str] = (),
        rebuild: bool = False,
        wait: float = 0.0,
    ) -> IndexReport:
        """Add new and changed articles; with ``prune_under``, drop indexed articles from those
        paths that are no longer there."""
        t0 = time.monotonic()
        report = IndexReport()
        with store.writer_lock(self.dir, wait=wait):
            client = store.make_client(self.dir, self.settings.chroma_url)
            old = store.read_manifest(self.dir)
            fp = fingerprint(self.settings, self.encoders)
            if old is not None and old.fingerprint == fp and not rebuild:
                manifest = old
                self._drop_orphans(client, manifest)
                carried: list[Article] = []
            else:
                manifest = self._new_manifest(fp)
                # A new model or chunking: re-embed what the old index held into new collections.
                carried = self._stored_articles(old) if old is not None else []
            self._ingest(client, manifest, carried, articles, prune_under, report)
            if old is not None and old.collections != manifest.collections:
                for name in old.collections.values():
                    if name not in manifest.collections.values():
                        _delete_collection(client, name)
            report.chunks_total = sum(a["chunks"] for a in manifest.articles.values())
        report.seconds = time.monotonic() - t0
        return report

    def _new_manifest(self, fp: str) -> store.Manifest:
        stamp = hex(int(time.time() * 1000))[2:]
        names = {("dense" if i == 0 else f"dense{i}"): f"chunks-{fp}-{i}-{stamp}" for i in range(len(self.encoders))}
        primary = self.encoders[0]
        return store.Manifest(
            embedding={"name": primary.name, "dim": primary.dim},
            collections=names,
            fingerprint=fp,
            articles={},
        )

    def _stored_articles(self, old: store.Manifest) -> list[Article]:
        out = []
        for aid, meta in old.articles.items():
            text = store.read_article_text(self.dir, aid)
            out.append(Article(aid, meta["source"], meta["title"], text, meta.get("lang", "de")))
        return out

    def _ingest(
        self,
        client: Any,
        manifest: store.Manifest,
        carried: list[Article],
        articles: Sequence[Article],
        prune_under: Sequence[str],
        report: IndexReport,
    ) -> None:
        by_source = {m["source"]: aid for aid, m in manifest.articles.items()}
        given = {a.source for a in articles}
        todo: list[tuple[Article, str | None]] = [(a, a.id) for a in carried]
        seen: dict[str, str] = {}
        for art in articles:
            if art.id in seen:
                report.duplicates.append((art.source, seen[art.id]))
                continue
            seen[art.id] = art.source
            if art.id in manifest.articles:
                known = manifest.articles[art.id]["source"]
                if known == art.source:
                    report.unchanged.append(art.source)
                else:
                    report.duplicates.append((art.source, known))
                continue
            todo.append((art, by_source.get(art.source)))
        chunked = [(a, prev, chunk_article(a, self.settings.chunk.max_chars)) for a, prev in todo]
        total = sum(len(c) for _, _, c in chunked)
        done = 0
        vstores = [client.get_or_create_collection(
            name, configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding": enc.name, "dim": enc.dim},
        ) for name, enc in zip(manifest.collections.values(), self.encoders, strict=True)]
        for art, prev, chunks in chunked:
            store.write_article_text(self.dir, art.id, art.text)
            for col, enc in zip(vstores, self.encoders, strict=True):
                report.chunks_embedded += self._add_chunks(col, enc, chunks, lambda n: None)
            done += len(chunks)
            self.progress(done, total, art.source)
            manifest.articles[art.id] = {
                "source": art.source, "title": art.title, "lang": art.lang,
                "chunks": len(chunks), "chars": len(art.text), "sha": text_hash(art.text),
                "added_at": time.time(),
            }
            if prev is not None and prev != art.id:
                manifest.articles.pop(prev, None)
            store.write_manifest(self.dir, manifest)
            if prev is not None and prev != art.id:
                self._remove_article(vstores, prev)
                report.replaced.append(art.source)
            elif prev is None:
                report.added.append(art.source)
        if prune_under:
            for aid, meta in list(manifest.articles.items()):
                if meta["source"] not in given and _is_under(meta["source"], prune_under):
                    manifest.articles.pop(aid)
                    store.write_manifest(self.dir, manifest)
                    self._remove_article(vstores, aid)
                    report.removed.append(meta["source"])
        if not manifest.built_at:
            store.write_manifest(self.dir, manifest)

    def _add_chunks(self, col: Any, enc: Any, chunks: list[Chunk], tick: Callable[[int], None]) -> int:
        """Upsert chunks; vectors of chunks whose text is already stored are reused, not re-embedded."""
        embedded = 0
        for i in range(0, len(chunks), BATCH):
            batch = chunks[i : i + BATCH]
            metas = [chunk_metadata(c) for c in batch]
            hashes = [m["hash"] for m in metas]
            known = col.get(where={"hash": {"$in": hashes}}, include=["embeddings", "metadatas"])
            cache = {m["hash"]: e for m, e in zip(known["metadatas"], known["embeddings"], strict=True)}
            missing = [c.text for c, h in zip(batch, hashes, strict=True) if h not in cache]
            fresh = iter(enc.embed_documents(missing))
            embedded += len(missing)
            vectors = [cache[h] if h in cache else next(fresh) for h in hashes]
            col.upsert(ids=[c.id for c in batch], embeddings=vectors, documents=[c.text for c in batch], metadatas=metas)
            tick(len(batch))
        return embedded

    def _remove_article(self, cols: list[Any], article_id: str) -> None:
        for col in cols:
            col.delete(where={"article_id": article_id})
        store.article_path(self.dir, article_id).unlink(missing_ok=True)

    def _drop_orphans(self, client: Any, manifest: store.Manifest) -> None:
        """Remove chunks a crashed run left behind (articles the manifest does not list)."""
        keep = list(manifest.articles)
        for name in manifest.collections.values():
            col = client.get_or_create_collection(name, configuration={"hnsw": {"space": "cosine"}})
            if keep:
                col.delete(where={"article_id": {"$nin": keep}})
            elif col.count():
                col.delete(ids=col.get(include=[])["ids"])


def _is_under(source: str, roots: Sequence[str]) -> bool:
    path = Path(source)
    return any(path == Path(r) or Path(r) in path.parents for r in roots)


def _delete_collection(client: Any, name: str) -> None:
    try:
        client.delete_collection(name)
    except Exception:  # already gone is fine
        log.debug("collection %s was already gone", name)
