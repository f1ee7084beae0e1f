"""Extractive answers: pick evidence sentences from the retrieved passages, lead with the direct
answer, quote the evidence verbatim with numbered citations, or say plainly that the articles don't say.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag import extract
from rag.chunking import article_sentences
from rag.config import AnswerSettings
from rag.lexical import detect_language, tokens
from rag.retrieve import READ_PASSAGES, Trace, zscore
from rag.types import Answer, Article, Citation, Passage

log = logging.getLogger(__name__)


TYPED_BONUS = 1.0
TARGET_MARGIN = 0.5


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


def quote(article: Article, start: int, end: int) -> str:
    """The verbatim text at ``[start, end)``; every citation goes through here."""
    if not 0 <= start < end <= len(article.text):
        raise ValueError(f"bad quote offsets {start}-{end} in {article.source}")
    return article.text[start:end]


def not_said(question: str) -> str:
    if detect_language(question) == "de":
        return f"Die indexierten Artikel sagen dazu nichts: keine Stelle beantwortet „{question.strip()}“."
    return f'The indexed articles don\'t say: no passage answers "{question.strip()}".'


class Answerer:
    """Ranks sentences of the top passages and builds the cited answer."""

    def __init__(self, settings: AnswerSettings, sentence_encoder: Any, primary_encoder: Any | None = None) -> None:
        """``sentence_encoder`` compares the question with sentences and phrases at answer time;
        ``primary_encoder`` (the index's model) embeds sentences the index holds no vectors for."""
        self.settings = settings
        self.encoder = _QueryMemo(sentence_encoder)
        self.primary = _QueryMemo(primary_encoder) if primary_encoder is not None else None

    def evidence(
        self,
        question: str,
        passages: Sequence[Passage],
        articles: dict[str, Article],
        trace: Trace | None = None,
    ) -> list[Evidence]:
        """Sentences of the top passages, best first: retrieval score of the chunk holding the
        sentence, the sentence's own similarity to the question, shared words, and whether it
        holds an answer of the asked type."""
        qtype = extract.question_type(question)
        qtok = set(tokens(question, "de")) | set(tokens(question, "en"))
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
        sims = _cosines(self.encoder, question, texts)
        rank_sims = zscore(sims)
        primary = self._primary_sims(question, spans, texts, trace) if self.settings.primary_weight > 0 else None
        if primary is not None:
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
        out = []
        for (p, a, b, rank), text, sim, z in zip(spans, texts, sims, base, strict=True):
            stoks = set(tokens(text, "de")) | set(tokens(text, "en"))
            lex = sum(weight[t] for t in qtok & stoks) / max(1e-9, sum(weight.values()))
            typed = extract.candidates(text, qtype, question) if qtype != "other" else []
            score = z + 1.0 * lex + (TYPED_BONUS if typed else 0.0) - 0.1 * rank
            out.append(Evidence(p.article_id, a, b, text, float(score), float(sim), lex, typed, rank))
        return sorted(out, key=lambda e: -e.score)

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

    def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        articles: dict[str, Article],
        trace: Trace,
        searched: str = "",
    ) -> Answer:
        ranked = self.evidence(question, passages, articles, trace)
        confidence = trace.confidence
        qtype = extract.question_type(question)
        if not ranked or self._abstain(question, confidence, ranked, qtype):
            return Answer(question, not_said(question), None, True, [], list(passages), searched)
        ranked = self._prefer_counted_target(question, qtype, ranked)
        chosen = [ranked[0]]
        for ev in ranked[1:]:
            if len(chosen) >= self.settings.max_citations:
                break
            if ev.score >= ranked[0].score - 0.6 and all(_apart(ev, c) for c in chosen):
                chosen.append(ev)
        citations = []
        for n, ev in enumerate(chosen, 1):
            art = articles[ev.article_id]
            citations.append(
                Citation(
                    n, art.id, art.source, art.title, ev.start, ev.end, quote(art, ev.start, ev.end), round(ev.score, 4)
                )
            )
        short = self._short(question, qtype, chosen[0]) or chosen[0].text
        lines = []
        if short != chosen[0].text:
            lines.append(f"{short} [1]")
        lines += [f"„{c.quote}“ [{c.n}]" for c in citations]
        return Answer(question, "\n\n".join(lines), short, False, citations, list(passages), searched)

    def _prefer_counted_target(self, question: str, qtype: str, ranked: list[Evidence]) -> list[Evidence]:
        """For 'how many X': between the two best sentences, lead with the one whose counted phrase
        is most like X, when their evidence scores are close."""
        target = extract.count_target(question) if qtype == "count" else None
        top = [e for e in ranked[:2] if e.typed]
        if not target or len(top) < 2 or top[0].score - top[1].score > TARGET_MARGIN:
            return ranked
        # Best match first; on a tie (the same noun counted in both), the sentence whose numbers
        # count the asked kind of thing on average: 'Soldaten und Kriegsfahrzeuge' before
        # 'Militäranalysten, Armeen, Divisionen ... Soldaten'.
        match = []
        for e in top:
            sims = _cosines(self.encoder, target, [extract.counted(c.text) for c in e.typed])
            match.append((round(float(sims.max()), 2), float(sims.mean())))
        if match[1] > match[0]:
            return [top[1], top[0], *ranked[2:]]
        return ranked

    def _abstain(self, question: str, confidence: float, ranked: list[Evidence], qtype: str) -> bool:
        """Say the articles don't say when the evidence is weak overall, when a 'how many'
        question counts something no number in the evidence counts, or when a question for a date
        finds no date."""
        if confidence + 0.5 * ranked[0].sim < self.settings.min_confidence:
            return True
        target = extract.count_target(question) if qtype == "count" else None
        if target:
            units = [c.text for e in ranked[:2] for c in e.typed]
            if not units:
                return True
            if float(_cosines(self.encoder, target, units).max()) < self.settings.min_target_match:
                return True
        if qtype == "when" and extract.asks_for_date(question):
            # 'On what date ...?' is not answered by 'in den kommenden Monaten'.
            return not any(extract.is_calendar_date(c.text) for e in ranked[:2] for c in e.typed)
        return False

    def _short(self, question: str, qtype: str, ev: Evidence) -> str | None:
        cands = _new_information(question, ev.typed) if qtype in ("who", "where", "role") else ev.typed
        if qtype == "who":  # a name after an office is surely a person; other capitalised pairs may not be
            cands = [c for c in cands if c.kind == "role-name"] or cands
        if not cands:
            return None
        target = extract.count_target(question) if qtype == "count" else None
        if len(cands) > 1 and target:
            best = cands[int(np.argmax(_cosines(self.encoder, target, [extract.counted(c.text) for c in cands])))]
        elif len(cands) > 1:
            # Each candidate with a few words before it: 'Streitmacht von etwa 100.000 Soldaten'.
            sims = _cosines(self.encoder, question, [ev.text[max(0, c.start - 30) : c.end] for c in cands])
            anchors = _anchor_positions(question, ev.text)
            scores = []
            for c, s in zip(cands, sims, strict=True):
                near = min((abs(c.start - a) for a in anchors), default=len(ev.text))
                scores.append(s - 0.002 * near)
            best = cands[int(np.argmax(scores))]
        else:
            best = cands[0]
        if qtype == "count":
            best = extract.join_coordinated(ev.text, cands, best)
        return best.text


def _term_weights(qtok: set[str], idf: Callable[[str], float | None] | None) -> dict[str, float]:
    """Rarer question words count more in the overlap; words no article has count as average."""
    if idf is None or not qtok:
        return dict.fromkeys(qtok, 1.0)
    known = {t: idf(t) for t in qtok}
    values = [v for v in known.values() if v is not None and v > 0]
    mean = sum(values) / len(values) if values else 1.0
    return {t: (v if v is not None and v > 0 else mean) for t, v in known.items()}


def _new_information(question: str, spans: list[extract.Span]) -> list[extract.Span]:
    """Drop names and places the question already contains; trim its words off a span's edges
    ('Biden Putin' for 'Who phoned Putin?' becomes 'Biden')."""
    asked = {w.lower() for w in re.findall(r"\w+", question)}
    out = []
    for sp in spans:
        words = list(re.finditer(r"\S+", sp.text))
        while words and words[-1].group(0).strip(",.").lower() in asked:
            words.pop()
        while words and words[0].group(0).strip(",.").lower() in asked:
            words.pop(0)
        if not words or all(w.group(0).strip(",.").lower() in asked for w in words):
            continue
        start, end = sp.start + words[0].start(), sp.start + words[-1].end()
        out.append(extract.Span(start, end, sp.text[words[0].start() : words[-1].end()], sp.kind))
    return out


def _anchor_positions(question: str, sentence: str) -> list[int]:
    """Where words of the question (stems, folded) occur in the sentence."""
    qtok = set(tokens(question, "de")) | set(tokens(question, "en"))
    out = []
    for m in re.finditer(r"\w+", sentence):
        toks = set(tokens(m.group(0), "de")) | set(tokens(m.group(0), "en"))
        if toks & qtok:
            out.append(m.start())
    return out


def _apart(a: Evidence, b: Evidence) -> bool:
    return a.article_id != b.article_id or a.end <= b.start or b.end <= a.start


def _cosines(encoder: Any, question: str, texts: list[str]) -> np.ndarray:
    q = np.asarray(encoder.embed_query(question))
    m = np.asarray(encoder.embed_documents(texts))
    return m @ q / (np.linalg.norm(m, axis=1) * np.linalg.norm(q) + 1e-9)


class _QueryMemo:
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
            missing = list(dict.fromkeys(t for t in texts if t not in self._docs))
        fresh = dict(zip(missing, self._encoder.embed_documents(missing), strict=True)) if missing else {}
        with self._lock:
            out = []
            for t in texts:
                v = fresh.get(t) or self._docs.get(t)
                if v is None:  # dropped by another thread meanwhile
                    v = self._encoder.embed_documents([t])[0]
                self._docs[t] = v
                self._docs.move_to_end(t)
                out.append(v)
            while len(self._docs) > self._size:
                self._docs.popitem(last=False)
        return out
