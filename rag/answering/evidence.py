"""Evidence sentences: the sentences of the top passages ranked for a question by both encoders'
similarity, the retrieval score of the chunk holding each, rarer shared words, and the answer type.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.answering import extract, features
from rag.answering.retrieve import READ_PASSAGES, Trace, zscore
from rag.articles.chunking import article_sentences, dateline_start
from rag.config import AnswerSettings
from rag.language.lexical import tokens
from rag.types import Article, Passage, Question

TYPED_BONUS = 1.0


@dataclass(frozen=True)
class Evidence:
    """A candidate evidence sentence with the signals used to rank it."""

    article_id: str
    start: int
    end: int
    text: str
    score: float
    sim: float
    lexical: float
    typed: list[extract.Span]
    rank: int
    signals: features.Candidate | None = None
    row: tuple[float, ...] = ()  # its features.SENTENCE values
    # its tokens' tag codes as kept with the index (None: tagged when needed)
    tags: np.ndarray | None = field(default=None, compare=False)


class Ranker:
    """Ranks the sentences of the top passages for a question."""

    def __init__(self, settings: AnswerSettings, sentence_encoder: Any, primary_encoder: Any | None = None) -> None:
        """``sentence_encoder`` compares the question with sentences and phrases at answer time;
        ``primary_encoder`` (the index's model) embeds sentences the index holds no vectors for."""
        self.settings = settings
        self.encoder = VectorMemo(sentence_encoder)
        self.primary = VectorMemo(primary_encoder) if primary_encoder is not None else None

    def rank(
        self,
        question: Question,
        passages: Sequence[Passage],
        articles: Mapping[str, Article],
        trace: Trace | None = None,
    ) -> list[Evidence]:
        """Sentences of the top passages, best first: retrieval score of the chunk holding the
        sentence, the sentence's own similarity to the question, shared words, and whether it
        holds an answer of the asked type."""
        qtext, qtok, alts = question.text, question.words, question.alternatives
        weight = _term_weights(qtok, trace.idf if trace else None)
        spans: list[tuple[Passage, int, int, int]] = []
        seen: set[tuple[str, int]] = set()
        for rank, p in enumerate(passages[:READ_PASSAGES]):
            text = articles[p.article_id].text
            for s in article_sentences(text):
                if s.start >= p.start and s.end <= p.end and (p.article_id, s.start) not in seen:
                    seen.add((p.article_id, s.start))
                    spans.append((p, s.start, s.end, rank))
        if not spans:
            return []
        texts = [articles[p.article_id].text[a:b] for p, a, b, _ in spans]
        sims = cosines(self.encoder, qtext, texts)
        rank_sims = zscore(sims)
        primary = self._primary_sims(qtext, spans, texts, trace)
        if primary is not None and self.settings.primary_weight > 0:
            rank_sims = rank_sims + self.settings.primary_weight * zscore(primary)
        # Per sentence, the best score of a chunk holding it: the primary encoder's similarity
        # when the retriever scored every chunk of the passages read, else the fused hit score.
        scored = (trace.chunk_dense or [(h.chunk, h.score) for h in trace.hits]) if trace else []
        floor = min((sc for _, sc in scored), default=0.0)
        chunk_scores = np.array(
            [
                max(
                    (sc for c, sc in scored if c.article_id == p.article_id and c.start <= a < c.end),
                    default=floor,
                )
                for p, a, _, _ in spans
            ]
        )
        base = self.settings.sentence_weight * zscore(rank_sims) + self.settings.chunk_weight * zscore(chunk_scores)
        prim = primary if primary is not None else sims
        typed_all = [extract.typed_spans(t, question) for t in texts]
        count = self._count_match(question.target, typed_all)
        signals = []
        rare = max(weight, key=lambda t: weight[t]) if weight else None
        qpairs, qnumbers = set(question.pairs), set(question.numbers)
        total = max(1e-9, sum(weight.values()))
        for k, ((p, start, _, rank), text, sim) in enumerate(zip(spans, texts, sims, strict=True)):
            stoks = set(tokens(text, "de")) | set(tokens(text, "en"))
            lex, lex_alt, lex_parts = _overlaps(weight, total, stoks, alts)
            prev = k - 1 if k > 0 and spans[k - 1][0] is p else -1
            nxt = k + 1 if k + 1 < len(spans) and spans[k + 1][0] is p else -1
            rarest = float(bool(rare and rare in stoks))
            art = articles[p.article_id].text
            body = dateline_start(art)  # where the news body starts after its teaser (None: no dateline)
            signals.append(
                features.Candidate(
                    text,
                    float(sim),
                    float(prim[k]),
                    float(chunk_scores[k]),
                    lex,
                    rank,
                    bool(typed_all[k]),
                    count[k],
                    prev,
                    nxt,
                    features.pair_overlap(qpairs, text),
                    features.numbers_found(qnumbers, text),
                    rarest,
                    lex_alt,
                    start == article_sentences(art)[0].start,
                    body is not None and start < body,
                    body is not None and start == body,
                    lex_parts,
                )  # fmt: skip
            )
        rows = features.sentence_matrix(question, signals, cross=trace is not None and not trace.same_lang)
        out = []
        for (p, a, b, rank), text, sim, z, sig, typed, row in zip(
            spans, texts, sims, base, signals, typed_all, rows, strict=True
        ):
            score = z + 1.0 * sig.overlap + (TYPED_BONUS if typed else 0.0) - 0.1 * rank
            tags = trace.tags_of(p.article_id, a) if trace is not None else None
            out.append(
                Evidence(
                    p.article_id, a, b, text, float(score), float(sim), sig.overlap, typed, rank, sig, tuple(row), tags
                )
            )
        return sorted(out, key=lambda e: -e.score)

    def _count_match(self, target: str | None, typed: list[list[extract.Span]]) -> list[float]:
        """For 'how many X' (``target``: X): per sentence, the best similarity of X to a phrase it
        counts (0 when none)."""
        out = [0.0] * len(typed)
        phrases = [(k, extract.counted(c.text)) for k, spans in enumerate(typed) for c in spans]
        if not target or not phrases:
            return out
        sims = cosines(self.encoder, target, [ph for _, ph in phrases])
        for (k, _), s in zip(phrases, sims, strict=True):
            out[k] = max(out[k], float(s))
        return out

    def _primary_sims(
        self, question: str, spans: list[tuple[Passage, int, int, int]], texts: list[str], trace: Trace | None
    ) -> np.ndarray | None:
        """The primary encoder's cosine of each sentence with the question, from the sentence vectors
        the index stores; sentences without one are embedded now (None when no encoder can)."""
        stored = trace.sentence_vectors if trace else {}
        rows: list[np.ndarray | None] = []
        for p, a, _, _ in spans:
            starts, vectors = stored.get(p.article_id, (None, None))
            i = int(np.searchsorted(starts, a)) if starts is not None else -1
            found = starts is not None and i < len(starts) and starts[i] == a
            rows.append(vectors[i].astype(np.float32) if found and vectors is not None else None)
        missing = [k for k, r in enumerate(rows) if r is None]
        if missing:
            if self.primary is None:
                return None
            made = self.primary.embed_documents([texts[k] for k in missing])
            for k, v in zip(missing, made, strict=True):
                rows[k] = np.asarray(v, dtype=np.float32)
        if trace is not None and trace.query_vector is not None:
            q = np.asarray(trace.query_vector, dtype=np.float32)
        elif self.primary is not None:
            q = np.asarray(self.primary.embed_query(question), dtype=np.float32)
        else:
            return None
        m = np.vstack([r for r in rows if r is not None])
        return m @ q / (np.linalg.norm(m, axis=1) * np.linalg.norm(q) + 1e-9)


def _overlaps(
    weight: Mapping[str, float], total: float, stems: set[str], alts: Mapping[str, frozenset[str]]
) -> tuple[float, float, float]:
    """The rarity-weighted shares of the question's words (``weight``, summing to ``total``) a sentence
    of word ``stems`` holds: as written; as written or as one of their ``alts`` (renderings, synonyms);
    and the same, also as part of a compound."""
    parts = features.compound_parts(stems)

    def share(found: Callable[[str], bool]) -> float:
        return sum(w for t, w in weight.items() if found(t)) / total

    return (
        share(lambda t: t in stems),
        share(lambda t: t in stems or not stems.isdisjoint(alts.get(t, ()))),
        share(lambda t: features.in_parts({t, *alts.get(t, ())}, stems, parts)),
    )


def _term_weights(qtok: set[str], idf: Callable[[str], float | None] | None) -> dict[str, float]:
    """Rarer question words count more in the overlap; words no article has count as average."""
    # In sorted order, so that sums over them and ties between them come out the same in every process
    # (a set's order varies with the process's string hashing).
    if idf is None or not qtok:
        return dict.fromkeys(sorted(qtok), 1.0)
    known = {t: idf(t) for t in sorted(qtok)}
    values = [v for v in known.values() if v is not None and v > 0]
    mean = sum(values) / len(values) if values else 1.0
    return {t: (v if v is not None and v > 0 else mean) for t, v in known.items()}


def cosines(encoder: Any, question: str, texts: list[str]) -> np.ndarray:
    q = np.asarray(encoder.embed_query(question))
    m = np.asarray(encoder.embed_documents(texts))
    return m @ q / (np.linalg.norm(m, axis=1) * np.linalg.norm(q) + 1e-9)


class VectorMemo:
    """An encoder that remembers vectors: one answer compares the same question (and 'how many'
    target) with several sets of sentences, and questions about the same articles read the same
    sentences again. Holds at most ``size`` sentence vectors, dropping the least recently used."""

    def __init__(self, encoder: Any, size: int = 20_000) -> None:
        self._encoder = encoder
        self._query = functools.lru_cache(maxsize=256)(lambda text: tuple(encoder.embed_query(text)))
        self._docs: OrderedDict[str, list[float]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def embed_query(self, text: str) -> list[float]:
        return list(self._query(text))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            known = {t: self._docs[t] for t in texts if t in self._docs}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self._encoder.embed_documents(missing), strict=True))
        with self._lock:
            for t, v in known.items():
                self._docs[t] = v
                self._docs.move_to_end(t)
            while len(self._docs) > self._size:
                self._docs.popitem(last=False)
        return [known[t] for t in texts]
