"""Build and update the index: incremental, single-writer, and never visible half-built.

A run writes in one of two ways:

- In place, when the model and chunking match the live index: per article its text file, then its
  chunks, then the manifest (atomic rename), then the removal of the chunks it replaced. Readers
  trust only the articles the manifest lists, so a crash at any point leaves a consistent index.
- Staged, for a new model or chunking (or ``--rebuild``): new collections are filled and tracked
  in ``manifest.next.json`` while the old index keeps serving; when complete the manifest is
  swapped and the old collections dropped. A crashed staged build is resumed by the next run.

Every run first removes what a crashed run left behind: chunks of unlisted articles, collections
no manifest names, article texts no manifest lists.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.articles.chunking import chunk_article, text_hash
from rag.articles.ingest import is_url
from rag.config import Settings
from rag.index import lexicon, lexicon_file, repair, store
from rag.index.folder import check_space, remove_stray_files, write_article_text
from rag.index.lock import writer_lock
from rag.index.manifest import (
    MANIFEST,
    PENDING,
    DamagedManifest,
    Manifest,
    read_manifest,
    remove_manifest,
    write_manifest,
)
from rag.types import META_FIELDS, Article, Meta

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


@dataclass
class IndexReport:
    """What one run did, by article source."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (new source, old source)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (skipped source, indexed source)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, why) found in a folder
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rebuilt: bool = False
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        extra = "".join(
            f", {n} {what}"
            for n, what in (
                (len(self.renamed), "renamed"),
                (len(self.duplicates), "duplicate(s) skipped"),
                (len(self.skipped), "unreadable skipped"),
            )
            if n
        )
        rebuilt = " (new collections)" if self.rebuilt else ""
        return (
            f"Indexed {len(self.added)} new, {len(self.replaced)} changed, {len(self.unchanged)} "
            f"unchanged, {len(self.removed)} removed article(s){extra}; embedded "
            f"{self.chunks_embedded} chunk(s), {self.chunks_total} in the index{rebuilt}; {self.seconds:.1f} s."
        )


@dataclass
class _Plan:
    write: list[tuple[Article, str | None]] = field(default_factory=list)  # article, id it replaces
    carried: set[str] = field(default_factory=set)  # ids copied from the live index into new collections
    changed: set[str] = field(default_factory=set)  # ids that replace another version in the live index
    rename: list[Article] = field(default_factory=list)
    restate: list[Article] = field(default_factory=list)  # unchanged text, new title or metadata
    remove: list[str] = field(default_factory=list)


class Indexer:
    """Writes articles into the index under ``settings.index_dir``; one instance per run."""

    def __init__(
        self,
        settings: Settings,
        encoders: Sequence[Any],
        progress: Progress | None = None,
        analyser: lexicon.Analyser | None = None,
    ):
        """``analyser`` tags every sentence of the articles, kept with the index for the answers."""
        self.settings = settings
        self.analyser = analyser
        self.encoders = list(encoders)
        self.progress = progress or (lambda done, total, msg: None)
        self.dir = settings.index_dir

    def run(
        self,
        articles: Sequence[Article],
        report: IndexReport | None = None,
        present: set[str] | None = None,
        prune_under: Sequence[str] = (),
        rebuild: bool = False,
        wait: float = 0.0,
    ) -> IndexReport:
        """Add new and changed articles. ``present``: every source this run was given (also ones
        skipped as unreadable, which are never pruned); ``prune_under``: folders whose indexed
        articles not among ``present`` are removed."""
        report = report if report is not None else IndexReport()
        present = present if present is not None else {a.source for a in articles}
        with writer_lock(self.dir, wait=wait) as session:
            client = None
            try:
                live = read_manifest(self.dir)
            except DamagedManifest:
                if not rebuild:
                    raise
                client = session.client(self.settings.chroma_url)
                live = repair.recover(self.dir, client, self.settings, report.notes)
            pending = repair.pending(self.dir, report.notes)
            fp = store.fingerprint(self.settings, self.encoders)
            staged = live is not None and (rebuild or live.fingerprint != fp)
            if not staged:
                target = live or self._new_manifest(fp)
            elif pending is not None and pending.fingerprint == fp and not rebuild:
                target = pending  # finish the build a crashed run started
            else:
                target = self._new_manifest(fp)
            if live is None and not articles:
                return report
            plan = self._plan(target, live if staged else None, articles, present, prune_under, report)
            texts = [a.text for a, _ in plan.write]
            check_space(self.dir, texts, self.settings.chunk.max_chars, self.settings.chroma_url is not None)
            client = client or session.client(self.settings.chroma_url)
            owner = store.owner_tag(self.dir, self.settings.chroma_url)
            if target is not pending:
                remove_manifest(self.dir, PENDING)
            store.drop_orphans(client, [m for m in (live, target) if m is not None], owner)
            cols = [
                store.open_collection(client, name, enc, owner)
                for name, enc in zip(target.collections.values(), self.encoders, strict=True)
            ]
            if not staged:
                self._restore_texts(target, plan, report)
                self._repair(cols, target, plan, report)
            self._apply(cols, target, plan, PENDING if staged else MANIFEST, report)
            if staged:
                assert live is not None
                write_manifest(self.dir, target)
                remove_manifest(self.dir, PENDING)
                for name in live.collections.values():
                    if name not in target.collections.values():
                        store.delete_collection(client, name)
                report.rebuilt = True
            elif live is None:
                write_manifest(self.dir, target)
            remove_stray_files(self.dir, set(target.articles))
            lexicon_file.refresh(
                self.dir,
                target.articles,
                reader(self.dir, target, self.settings.max_file_bytes),
                self.settings.chunk.max_chars,
                self.encoders[0].name,
                embed=self.encoders[0],
                progress=self.progress,
                analyser=self.analyser,
            )
            report.chunks_total = sum(a["chunks"] for a in target.articles.values())
        return report

    def _new_manifest(self, fp: str) -> Manifest:
        stamp = hex(int(time.time() * 1000))[2:]
        names = {
            ("dense" if i == 0 else f"dense{i}"): f"{store.COLLECTION_PREFIX}{fp}-{i}-{stamp}"
            for i in range(len(self.encoders))
        }
        primary = self.encoders[0]
        return Manifest(
            embedding={"name": primary.name, "dim": primary.dim},
            collections=names,
            fingerprint=fp,
            articles={},
        )

    def _plan(
        self,
        target: Manifest,
        live: Manifest | None,
        articles: Sequence[Article],
        present: set[str],
        prune_under: Sequence[str],
        report: IndexReport,
    ) -> _Plan:
        """Decide what changes, before anything is written. ``live``: the index a staged build replaces."""
        listed = target.articles
        by_source = {m["source"]: aid for aid, m in listed.items()}
        live_sources = {m["source"] for m in live.articles.values()} if live is not None else set()

        def gone(source: str) -> bool:
            if source in present:
                return False
            return _is_under(source, prune_under) or (not is_url(source) and not Path(source).exists())

        plan = _Plan()
        seen: dict[str, str] = {}
        for art in articles:
            if art.id in seen:
                report.duplicates.append((art.source, seen[art.id]))
                continue
            seen[art.id] = art.source
            if art.id not in listed:
                plan.write.append((art, by_source.get(art.source)))
                if live is not None and live.articles.get(art.id, {}).get("source") == art.source:
                    plan.carried.add(art.id)  # unchanged, copied into the new collections
                elif live is not None and art.source in live_sources:
                    plan.changed.add(art.id)
                continue
            known = listed[art.id]["source"]
            if known == art.source:
                report.unchanged.append(art.source)
                entry = listed[art.id]
                if entry["title"] != art.title or Meta.of_entry(entry) != art.meta:
                    plan.restate.append(art)
            elif gone(known) and art.source not in by_source:
                plan.rename.append(art)  # the file was renamed or moved: same text, new name
                report.renamed.append((art.source, known))
            else:
                report.duplicates.append((art.source, known))
        if live is not None:
            given = {a.source for a in articles}
            for aid, meta in live.articles.items():
                if aid in listed or aid in seen or meta["source"] in given or _is_under(meta["source"], prune_under):
                    continue
                art = self._stored(aid, meta, report)
                if art is not None:
                    plan.write.append((art, by_source.get(art.source)))
                    plan.carried.add(aid)
        renamed = {a.id for a in plan.rename}
        plan.remove = [
            aid
            for aid, meta in listed.items()
            if aid not in renamed and meta["source"] not in present and _is_under(meta["source"], prune_under)
        ]
        return plan

    def _apply(self, cols: list[Any], target: Manifest, plan: _Plan, file: str, report: IndexReport) -> None:
        def save() -> None:
            write_manifest(self.dir, target, file)

        for art in plan.restate:  # same text and name; title, date or source told anew
            target.articles[art.id] = _described(target.articles[art.id], art)
        if plan.restate:
            save()
        for art in plan.rename:
            target.articles[art.id] = _described(target.articles[art.id], art)
            for col in cols:
                got = col.get(where={"article_id": art.id}, include=["metadatas"])
                if got["ids"]:
                    metas = [{**m, "source": art.source, "title": art.title} for m in got["metadatas"]]
                    col.update(ids=got["ids"], metadatas=metas)
            save()
        chunked = [(a, prev, chunk_article(a, self.settings.chunk.max_chars)) for a, prev in plan.write]
        total, done = sum(len(c) for _, _, c in chunked), 0
        for art, prev, chunks in chunked:
            write_article_text(self.dir, art.id, art.text)
            report.chunks_embedded += store.upsert_chunks(cols, self.encoders, chunks)
            done += len(chunks)
            self.progress(done, total, art.source)
            target.articles[art.id] = {
                "source": art.source,
                "title": art.title,
                "lang": art.lang,
                "chunks": len(chunks),
                "chars": len(art.text),
                "sha": text_hash(art.text),
                "added_at": time.time(),
                **art.meta.to_entry(),
            }
            if prev is not None and prev != art.id:
                target.articles.pop(prev, None)
            save()
            if prev is not None and prev != art.id:
                for col in cols:
                    col.delete(where={"article_id": prev})
            if art.id in plan.carried:
                report.unchanged.append(art.source)
            elif prev is not None or art.id in plan.changed:
                report.replaced.append(art.source)
            else:
                report.added.append(art.source)
        for aid in plan.remove:
            meta = target.articles.pop(aid)
            save()
            for col in cols:
                col.delete(where={"article_id": aid})
            report.removed.append(meta["source"])

    def _stored(self, aid: str, meta: dict[str, Any], report: IndexReport) -> Article | None:
        """An indexed article from its stored text (or its unchanged file); None (and a note) when
        neither has it."""
        art = repair.stored_article(self.dir, aid, meta, self.settings.max_file_bytes, report.notes)
        if art is None:
            report.skipped.append((meta["source"], "its stored text is lost from the index; index the file again"))
        return art

    def _restore_texts(self, target: Manifest, plan: _Plan, report: IndexReport) -> None:
        """Every listed article's stored text is checked; one that is lost is taken again from its
        file, the file indexed again when it changed, else the article removed (rag.repair)."""
        queued = {a.id for a, _ in plan.write} | {a.id for a in plan.rename} | set(plan.remove)
        max_bytes = self.settings.max_file_bytes
        write, remove = repair.restore_texts(self.dir, target.articles, queued, max_bytes, report.notes)
        plan.write += write
        plan.remove += remove

    def _repair(self, cols: list[Any], target: Manifest, plan: _Plan, report: IndexReport) -> None:
        """Queue listed articles whose chunks are missing from a collection (e.g. a store deleted by
        hand) to be written again; the count check keeps this free when all is well."""
        expected = sum(m["chunks"] for m in target.articles.values())
        if all(col.count() == expected for col in cols):
            return
        stored = [set(col.get(include=[])["ids"]) for col in cols]
        queued = {a.id for a, _ in plan.write} | {a.id for a in plan.rename} | set(plan.remove)
        for aid, meta in target.articles.items():
            if aid in queued:
                continue
            art = self._stored(aid, meta, report)
            if art is None:
                plan.remove.append(aid)
                continue
            chunks = chunk_article(art, self.settings.chunk.max_chars)
            if any(c.id not in ids for ids in stored for c in chunks):
                log.warning("restoring the missing chunks of %s", meta["source"])
                plan.write.append((art, aid))
                plan.carried.add(aid)


def _described(entry: dict[str, Any], art: Article) -> dict[str, Any]:
    """A manifest entry with the article's source, title and metadata as read now (the text is the same)."""
    kept = {k: v for k, v in entry.items() if k not in META_FIELDS}
    return {**kept, "source": art.source, "title": art.title, **art.meta.to_entry()}


def reader(index_dir: Path, manifest: Manifest, max_bytes: int) -> Callable[[str], Article | None]:
    """Reads the manifest's articles back from the index, for the lexicon."""
    return lambda aid: repair.stored_article(index_dir, aid, manifest.articles[aid], max_bytes)


def _is_under(source: str, roots: Sequence[str]) -> bool:
    if is_url(source):
        return False
    path = Path(source)
    return any(path == Path(r) or Path(r) in path.parents for r in roots)
