"""The index commands: add files, folders and web addresses (read and checked before the index is
touched), and remove articles by source or id."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rag.articles.addresses import AddressGuard
from rag.articles.ingest import Source, collect_sources, is_url, load
from rag.articles.proxy import Proxies
from rag.config import Settings
from rag.errors import IndexUnavailable, InputError
from rag.index import lexicon, lexicon_file, store
from rag.index.folder import remove_stray_files
from rag.index.indexer import Indexer, IndexReport, Progress, reader
from rag.index.lock import writer_lock
from rag.index.manifest import MANIFEST, PENDING, read_manifest, write_manifest
from rag.types import Article


def index_paths(
    settings: Settings,
    encoders: Sequence[Any],
    paths: Iterable[str | Path],
    progress: Progress | None = None,
    prune: bool = False,
    rebuild: bool = False,
    wait: float = 0.0,
    any_address: bool = False,
    analyser: lexicon.Analyser | None = None,
) -> IndexReport:
    """Index files, folders and web addresses. Every input is read and checked before the index
    is touched: a bad file or address given by name stops the run with an ``InputError``; one found
    inside a folder is skipped and reported. With ``prune``, indexed articles from the given
    folders whose files are gone are removed. Web addresses are fetched from public addresses and
    those RAG_FETCH_ALLOW names; ``any_address`` (the operator's command line) allows all. The
    proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) apply either way. ``analyser`` tags the
    articles' sentences, kept with the index for the answers."""
    t0 = time.monotonic()
    paths = [str(p) for p in paths]
    sources = collect_sources(paths)
    if not sources and not prune:
        raise InputError(f"No .txt, .md or .html articles in {', '.join(paths)}; give article files or folders.")
    report = IndexReport()
    guard = AddressGuard.anything() if any_address else AddressGuard.allowing(settings.fetch_allow)
    articles = _load_all(sources, settings, report, guard, settings.proxies())
    prune_under = [p for p in paths if not is_url(p)] if prune else []
    Indexer(settings, encoders, progress, analyser).run(
        articles, report, present={s.name for s in sources}, prune_under=prune_under, rebuild=rebuild, wait=wait
    )
    report.seconds = time.monotonic() - t0
    return report


def _load_all(
    sources: Sequence[Source], settings: Settings, report: IndexReport, guard: AddressGuard, proxies: Proxies
) -> list[Article]:
    out = []
    for src in sources:
        try:
            loaded = load(src, settings.max_file_bytes, settings.fetch_timeout, guard, proxies)
        except InputError as exc:
            if src.named:
                raise
            report.skipped.append((src.name, str(exc)))
            continue
        if loaded.note:
            report.notes.append(loaded.note)
        out.append(loaded.article)
    return out


def remove_sources(settings: Settings, names: Sequence[str], wait: float = 0.0) -> IndexReport:
    """Drop indexed articles by source (a file, a folder's articles, an address) or article id."""
    t0 = time.monotonic()
    report = IndexReport()
    index_dir = settings.index_dir
    if not (index_dir / MANIFEST).is_file():
        raise IndexUnavailable(f"{index_dir} is not an index; build it with: python -m rag index")
    with writer_lock(index_dir, wait=wait) as session:
        live = read_manifest(index_dir)
        if live is None:
            raise IndexUnavailable(f"{index_dir} is not an index; build it with: python -m rag index")
        ids: list[str] = []
        for name in names:
            found = [aid for aid, meta in live.articles.items() if _matches(name, aid, meta["source"])]
            if not found:
                raise InputError(f"{name} is not in the index; python -m rag status lists the indexed articles.")
            ids.extend(aid for aid in found if aid not in ids)
        client = session.client(settings.chroma_url)
        pending = read_manifest(index_dir, PENDING)
        for manifest, file in ((live, MANIFEST), (pending, PENDING)):
            if manifest is None:
                continue
            cols = store.existing_collections(client, manifest)
            for aid in ids:
                meta = manifest.articles.pop(aid, None)
                if meta is None:
                    continue
                write_manifest(index_dir, manifest, file)
                for col in cols:
                    col.delete(where={"article_id": aid})
                if manifest is live:
                    report.removed.append(meta["source"])
        remove_stray_files(index_dir, set(live.articles) | (set(pending.articles) if pending else set()))
        lexicon_file.refresh(
            index_dir,
            live.articles,
            reader(index_dir, live, settings.max_file_bytes),
            settings.chunk.max_chars,
            live.embedding["name"],
        )
        report.chunks_total = sum(m["chunks"] for m in live.articles.values())
    report.seconds = time.monotonic() - t0
    return report


def _matches(name: str, article_id: str, source: str) -> bool:
    if name in (source, article_id):
        return True
    if is_url(name) or is_url(source):
        return False
    given, path = Path(name), Path(source)
    return given == path or given in path.parents
