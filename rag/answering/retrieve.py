"""Hybrid retrieval: dense encoders through LangChain's Chroma store plus BM25, fused by z-scores.

The BM25 weight depends on the question's language. An English question over German articles is
searched in BM25 through its German renderings (rag.language.dictionary): its content words put
into German word by word, names and numbers kept; without the dictionary its own words are searched,
which match little but names and numbers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.answering import nearest, question, spans
from rag.articles.chunking import text_hash, widen
from rag.config import Settings
from rag.errors import IndexUnavailable, disk_error
from rag.index import health, lexicon, lexicon_file, store
from rag.index.folder import Shelf
from rag.index.manifest import MANIFEST, Manifest, read_manifest
from rag.index.store import fingerprint
from rag.language import dictionary, thesaurus
from rag.language.lexical import LexicalIndex, detect_language
from rag.types import Chunk, Passage, Question

log = logging.getLogger(__name__)

READ_PASSAGES = 3  # passages the answer step reads sentences from


@dataclass(frozen=True)
class Hit:
    """One chunk with its fused score and the raw signals behind it."""

    chunk: Chunk
    score: float
    dense: float
    lexical: float


@dataclass
class Trace:
    searched: str
    question_lang: str
    lexical_weight: float
    hits: list[Hit]
    # Primary-encoder similarity of every chunk inside the first passages, for sentence ranking.
    chunk_dense: list[tuple[Chunk, float]] = field(default_factory=list)
    idf: Callable[[str], float | None] | None = None
    # The question's primary-encoder vector and the stored sentence vectors of the index, for
    # comparing the question with single sentences without embedding them again.
    query_vector: list[float] | None = None
    sentence_vectors: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    corpus_lang: str = "de"
    # The sentence tags kept with the index (of this code's analysis version), by article id.
    sentence_tags: Mapping[str, lexicon.SentenceTags] = field(default_factory=dict)

    def tags_of(self, article_id: str, start: int) -> np.ndarray | None:
        """The stored tag codes of the sentence of ``article_id`` starting at ``start`` (None: not stored)."""
        found = self.sentence_tags.get(article_id)
        return found.of(start) if found is not None else None

    @property
    def same_lang(self) -> bool:
        """The question is in the articles' language: its words can be looked up in them."""
        return self.question_lang == self.corpus_lang

    @property
    def confidence(self) -> float:
        """Primary-encoder similarity of the best chunk."""
        return self.hits[0].dense if self.hits else 0.0


class Retriever:
    """Read side of one index; ``refresh()`` picks up a newer manifest written by any process."""

    def __init__(self, settings: Settings, encoders: Sequence[Any], client: Any | None = None) -> None:
        self.settings = settings
        self.encoders = list(encoders)
        self._client = client
        self._stamp: float | None = None
        self.refresh(force=True)

    # -- loading -------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> bool:
        """Reload when the manifest changed on disk; True when it did."""
        path = self.settings.index_dir / MANIFEST
        stamp = path.stat().st_mtime_ns if path.exists() else None
        if not force and stamp == self._stamp:
            if self.settings.chroma_url is None:
                health.check_vector_store(self.settings.index_dir)  # e.g. deleted under a running app
            return False
        manifest = read_manifest(self.settings.index_dir)
        if manifest is None:
            raise IndexUnavailable(
                f"{self.settings.index_dir} is not an index; build it with: "
                f"python -m rag index --index-dir {self.settings.index_dir}"
            )
        self._check_model(manifest)
        if not force and self.settings.chroma_url is None:
            # Another process wrote: a cached system would not see it. The old one is closed first:
            # two systems on one folder in one process can block each other after a failed write.
            store.close_client(self._client)
            store.reset_client_cache()
            self._client = None
        if self._client is None:
            self._client = health.reader_client(self.settings.index_dir, self.settings.chroma_url, manifest)
        # Chroma loads a collection's vector graph on its first query (~0.4 s per 100k chunks):
        # start that now, while LangChain's store, the texts and the lexicon load.
        names = list(manifest.collections.values())
        self._held: list[nearest.HeldVectors] | None = None  # a small index's chunk vectors, for an exact search
        self._warming = threading.Thread(
            target=self._load_graphs, args=(self._client, names), name="rag-load-graphs", daemon=True
        )
        self._warming.start()
        try:
            self.stores = [
                store.vectorstore(self._client, name, enc)
                for name, enc in zip(manifest.collections.values(), self.encoders, strict=True)
            ]
        except Exception as exc:
            raise IndexUnavailable(
                f"Cannot open the collections of {self.settings.index_dir} ({exc}); "
                "rebuild with: python -m rag index --rebuild"
            ) from exc
        self.manifest = manifest
        self.articles = Shelf(self.settings.index_dir, manifest.articles)
        self.corpus_lang = lexicon.corpus_lang(manifest.articles.values())
        if self.corpus_lang == "de":  # read while the rest loads, for the first English question
            dictionary.preload(self.settings.dictionary, self.settings.model_cache())
            thesaurus.preload(self.settings.thesaurus, self.settings.model_cache())
        max_chars = self.settings.chunk.max_chars
        shape = lexicon.shape_of(max_chars, self.corpus_lang, self.encoders[0].name)
        stored = lexicon_file.load(self.settings.index_dir, shape)
        # What is wrong with the index without changing any answer (shown beside the chat).
        self.notices = [stored.problem] if stored.problem else []
        for notice in self.notices:
            log.warning("%s", notice)
        self.sentence_vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.sentence_tags: dict[str, lexicon.SentenceTags] = {}
        analysis = spans.analysis_version()
        if stored.analysis is not None and stored.analysis != analysis:
            self.notices.append(
                f"The index's sentence analysis is of another version ({stored.analysis}, this code reads {analysis}); "
                "answers are unchanged but slower; update it with: python -m rag index"
            )
            log.warning("%s", self.notices[-1])
        entries = []
        for aid, meta in manifest.articles.items():
            entry = stored.current(aid, meta.get("sha"))
            if entry is None:  # not stored for this text: made from it (the only article read here)
                art = self.articles[aid]
                entry = stored.entry(art, meta.get("sha") or text_hash(art.text), max_chars)
            entries.append(entry)
            if entry.sentence_starts is not None and entry.sentence_vectors is not None:
                self.sentence_vectors[aid] = (entry.sentence_starts, entry.sentence_vectors)
            if entry.tags is not None and stored.analysis == analysis:
                self.sentence_tags[aid] = entry.tags
        lacking = len(self.articles) - len(self.sentence_vectors)
        if lacking and not stored.problem:  # (a damaged lexicon is told once, above)
            # Answers still read every sentence (embedded on demand); ranking chunks by their best
            # sentence needs the stored vectors, which the next index run writes.
            log.warning(
                "%d of %d articles have no stored sentence vectors; run: python -m rag index",
                lacking,
                len(self.articles),
            )
        self.chunks = lexicon.ChunkTable(self.articles, zip(manifest.articles, (e.spans for e in entries), strict=True))
        if stored.bm25 is not None and not stored.dirty and stored.bm25_key == lexicon_file.bm25_key(manifest.articles):
            self.lexical = LexicalIndex.from_arrays(stored.bm25, stored.vocab, self.corpus_lang)
        else:  # the writer's BM25 is for other articles (or none): build it from the terms
            terms = [t for e in entries for t in e.terms]
            self.lexical = LexicalIndex.from_terms(terms, stored.vocab, self.corpus_lang)
        self._stamp = stamp
        return True

    def _load_graphs(self, client: Any, names: list[str]) -> None:
        """Read every chunk's vectors of a small embedded index, for an exact search; query each
        collection of a larger one (or of a Chroma server) once, so its graph loads. Both through the
        Chroma client itself, which needs no LangChain import: they load while that import runs."""
        if self.settings.chroma_url is None:  # a Chroma server is the index's authority: always asked
            self._held = nearest.read_all(client, names, self.settings.retrieve.exact_up_to)
            if self._held is not None:
                return
        for name, enc in zip(names, self.encoders, strict=True):
            try:
                unit = [1.0] + [0.0] * (enc.dim - 1)
                client.get_collection(name).query(query_embeddings=[unit], n_results=1, include=[])
            except Exception as exc:  # an empty or unreachable collection: the real query reports it
                log.debug("could not preload the %s vectors: %s", enc.name, exc)

    def _check_model(self, manifest: Manifest) -> None:
        primary = self.encoders[0]
        built = manifest.embedding
        if built.get("name") != primary.name or built.get("dim") != primary.dim:
            raise IndexUnavailable(
                f"The index was built with {built.get('name')} ({built.get('dim')}-d) but "
                f"{primary.name} ({primary.dim}-d) is configured; rebuild it with: python -m rag index --rebuild"
            )
        if manifest.fingerprint != fingerprint(self.settings, self.encoders):
            raise IndexUnavailable(
                "The index was built with other chunking or encoder settings; "
                "rebuild it with: python -m rag index --rebuild"
            )

    # -- searching -----------------------------------------------------------------------
    def read(self, asked: str, searched: str | None = None) -> Question:
        """``asked`` read once (``searched``: what is searched for it), with the German renderings
        of an English question's words when the articles are German and the dictionary is there."""
        found, synonyms = None, None
        lang = detect_language(searched or asked)
        if self.corpus_lang == "de" and lang == "en":
            found = dictionary.load(self.settings.dictionary, self.settings.model_cache())
        elif self.corpus_lang == "de":
            synonyms = thesaurus.load(self.settings.thesaurus, self.settings.model_cache())
        return question.read(asked, searched, self.corpus_lang, found, synonyms)

    def search(
        self, query: str | Question, k: int | None = None, allowed: frozenset[str] | None = None
    ) -> tuple[list[Passage], Trace]:
        """The best passages for ``query`` (a text is read first); with ``allowed``, from those
        articles only (a scope)."""
        if isinstance(query, str):
            query = self.read(query)
        try:
            return self._search(query, k, allowed)
        except Exception as exc:  # the vector store failing for want of disk space or access: one line
            failed = disk_error(exc, self.settings.index_dir, writing=False)
            if failed is None:
                raise
            raise failed from exc

    def _search(
        self, asked: Question, k: int | None, allowed: frozenset[str] | None = None
    ) -> tuple[list[Passage], Trace]:
        k = k or self.settings.retrieve.k
        cfg = self.settings.retrieve
        query, qlang = asked.searched, asked.lang
        same = qlang == self.corpus_lang
        lex_w = cfg.lexical_weight_same_lang if same else cfg.lexical_weight_cross_lang
        scoped = None if allowed is None else [r for aid in sorted(allowed) for r in self.chunks.rows_of(aid)]
        if not self.chunks or scoped == []:
            return [], Trace(query, qlang, lex_w, [], corpus_lang=self.corpus_lang)
        n = min(cfg.candidates, len(self.chunks))
        qvecs = [enc.embed_query(query) for enc in self.encoders]
        self._warming.join()
        if scoped is not None and len(scoped) <= n:  # a small scope: every chunk of it is scored
            dense = [self._exact_scores(i, vec, scoped) for i, vec in enumerate(qvecs)]
        elif self._held is not None:  # a small index: every chunk is compared
            dense = [h.nearest(vec, n, self.chunks.row_of, scoped) for h, vec in zip(self._held, qvecs, strict=True)]
        else:
            where = None if allowed is None else {"article_id": {"$in": sorted(allowed)}}
            dense = [self._dense_scores(vs, vec, n, where) for vs, vec in zip(self.stores, qvecs, strict=True)]
        lex_all = self.lexical.term_scores(asked.german) if asked.german else self.lexical.scores(query)
        if scoped is not None:
            inside = np.zeros(len(lex_all), dtype=bool)
            inside[scoped] = True
            lex_all = np.where(inside, lex_all, 0.0)
        cand = {r for r in _top(lex_all, n).tolist() if lex_all[r] > 0} if lex_w > 0 else set()
        for scores in dense:
            cand.update(scores)
        rows = sorted(cand)
        for vs_i, scores in enumerate(dense):
            missing = [r for r in rows if r not in scores]
            if missing:
                scores.update(self._exact_scores(vs_i, qvecs[vs_i], missing))
        weights = [1.0] + [cfg.second_encoder_weight] * (len(dense) - 1)
        fused = np.zeros(len(rows))
        for w, scores in zip(weights, dense, strict=True):
            fused += w * zscore(np.array([scores[r] for r in rows]))
        lex = lex_all[rows]
        if lex_w > 0 and lex.max() > 0:
            fused += lex_w * zscore(lex)
        sent_w = cfg.sentence_weight_same_lang if same else cfg.sentence_weight_cross_lang
        if sent_w > 0:
            fused += sent_w * zscore(self._best_sentence(rows, qvecs[0]))
        order = np.argsort(-fused)
        hits = [Hit(self.chunks[rows[i]], float(fused[i]), float(dense[0][rows[i]]), float(lex[i])) for i in order]
        passages = self._passages(hits, k, qvecs[0])
        inside = self._inside(passages, dense[0], qvecs[0])
        return passages, Trace(
            query,
            qlang,
            lex_w,
            hits,
            inside,
            self.lexical.idf,
            qvecs[0],
            self.sentence_vectors,
            self.corpus_lang,
            self.sentence_tags,
        )

    def _inside(self, passages: list[Passage], known: dict[int, float], vec: list[float]) -> list[tuple[Chunk, float]]:
        """Primary-encoder scores of all chunks overlapping the passages an answer reads."""
        rows = {
            r
            for p in passages[:READ_PASSAGES]
            for r in self.chunks.rows_of(p.article_id)
            if self.chunks[r].start < p.end and p.start < self.chunks[r].end
        }
        missing = [r for r in rows if r not in known]
        scores = {r: known[r] for r in rows if r in known}
        if missing:
            scores.update(self._exact_scores(0, vec, missing))
        return [(self.chunks[r], s) for r, s in scores.items()]

    def _best_sentence(self, rows: list[int], vec: list[float]) -> np.ndarray:
        """Per chunk, the primary encoder's best similarity of one sentence starting in it to the
        question, from the stored sentence vectors; chunks without any get the mean of the others."""
        q = np.asarray(vec, dtype=np.float32)
        out = np.full(len(rows), np.nan)
        for k, r in enumerate(rows):
            c = self.chunks[r]
            starts, vectors = self.sentence_vectors.get(c.article_id, (None, None))
            if starts is None or vectors is None:
                continue
            i0, i1 = np.searchsorted(starts, [c.start, c.end])
            if i1 > i0:
                out[k] = float((vectors[i0:i1].astype(np.float32) @ q).max())
        known = ~np.isnan(out)
        out[~known] = out[known].mean() if known.any() else 0.0
        return out

    def _sentence_relevance(self, article_id: str, vec: list[float] | None) -> np.ndarray | None:
        """The primary encoder's similarity of each sentence of an article to the question (None
        without stored sentence vectors)."""
        _, vectors = self.sentence_vectors.get(article_id, (None, None))
        if vec is None or vectors is None:
            return None
        return vectors.astype(np.float32) @ np.asarray(vec, dtype=np.float32)

    def _dense_scores(self, vs: Any, vec: list[float], n: int, where: dict[str, Any] | None = None) -> dict[int, float]:
        out: dict[int, float] = {}
        for doc, dist in vs.similarity_search_by_vector_with_relevance_scores(vec, k=n, filter=where):
            row = self.chunks.row_of(doc.id or "")
            if row is not None:  # chunks of articles the manifest lists, nothing else
                out[row] = 1.0 - float(dist)
        return out

    def _exact_scores(self, store: int, vec: list[float], rows: list[int]) -> dict[int, float]:
        """The cosine of chunk ``rows`` with ``vec`` by encoder ``store``: from the vectors held in
        memory for a small index, else read from the vector store."""
        if self._held is not None:
            return self._held[store].scores(vec, rows, self.chunks.row_of)
        got = self.stores[store].get(ids=[self.chunks[r].id for r in rows], include=["embeddings"])
        q = np.asarray(vec)
        found = {cid: float(np.dot(q, np.asarray(e))) for cid, e in zip(got["ids"], got["embeddings"], strict=True)}
        return {r: found.get(self.chunks[r].id, 0.0) for r in rows}

    def _passages(self, hits: list[Hit], k: int, vec: list[float] | None = None) -> list[Passage]:
        """Widen the best chunks into readable passages, skipping ones already shown; with the
        question's vector, by the neighbouring sentences most like the question first."""
        out: list[Passage] = []
        budget = self.settings.chunk.passage_chars
        for hit in hits:
            c = hit.chunk
            if any(
                p.article_id == c.article_id and _overlap(p.start, p.end, c.start, c.end) > 0.5 * (c.end - c.start)
                for p in out
            ):
                continue
            text = self.articles[c.article_id].text
            start, end = widen(text, c.start, c.end, budget, self._sentence_relevance(c.article_id, vec))
            out.append(Passage(c.article_id, c.source, c.title, start, end, text[start:end], hit.score, c.start, c.end))
            if len(out) == k:
                break
        return out


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Rows of the ``n`` highest scores, in no order: linear in the corpus, not n log n."""
    if n >= len(scores):
        return np.arange(len(scores))
    return np.argpartition(-scores, n - 1)[:n]


def zscore(x: np.ndarray) -> np.ndarray:
    """Standard scores; all zeros when the values do not vary."""
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))
