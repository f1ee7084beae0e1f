"""Extractive answers: pick evidence sentences from the retrieved passages, lead with the direct
answer, quote the evidence verbatim with numbered citations, or say plainly that the articles don't say.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.answering import extract, features, notation, spanmodel, spans
from rag.answering.evidence import Evidence, Ranker, cosines
from rag.answering.learned import AnswerModel
from rag.answering.retrieve import Trace
from rag.answering.wording import no_short_answer, not_said, quote
from rag.config import AnswerSettings
from rag.language.lexical import detect_language, tokens
from rag.types import Answer, Article, Citation, Passage, Question

log = logging.getLogger(__name__)


TARGET_MARGIN = 0.5
# A 'how many X' asked in the articles' language whose X occurs in no article ('Verteidigungsbudget')
# needs a closer counted phrase than min_target_match: a loose match is then likely another quantity.
UNSEEN_TARGET_MATCH = 0.4
# With the learned sentence model: a second sentence is quoted when its score is this close to the first's.
SECOND_CITATION_MARGIN = 1.0


@dataclass
class Examination:
    """What the answer step saw: the candidate sentences best first, and (with a learned model)
    the answerability features and probability."""

    ranked: list[Evidence]
    vector: np.ndarray | None = None
    probability: float | None = None
    abstain: bool = False
    # the kind of answer asked for that the two best sentences do not name ('money', 'when', 'count')
    missing: str | None = None
    # whose words the question asks for when no article names them ('Macron'): declined as such
    absent: str | None = None


class Answerer:
    """Builds the cited answer from the ranked evidence sentences, or says the articles don't say."""

    def __init__(
        self,
        settings: AnswerSettings,
        sentence_encoder: Any,
        primary_encoder: Any | None = None,
        model: AnswerModel | None = None,
        span_model: spanmodel.SpanModel | None = None,
        gloss: Callable[[str], str | None] | None = None,
    ) -> None:
        """The encoders are the evidence ranker's (rag.evidence.Ranker); ``model`` chooses the evidence
        and decides answerability (without one, hand-set weights and thresholds do); ``span_model``
        picks the short answer out of the evidence sentence (without one, the typed rules do); ``gloss``
        gives an English gloss of a German word, shown after the nouns of an English asker's short answer."""
        self.settings = settings
        self.ranker = Ranker(settings, sentence_encoder, primary_encoder)
        self.encoder = self.ranker.encoder
        self.model = model
        self.span_model = span_model
        self.gloss = gloss

    def examine(
        self, question: Question, passages: Sequence[Passage], articles: Mapping[str, Article], trace: Trace
    ) -> Examination:
        """Rank the candidate sentences and decide whether they answer the question."""
        ranked = self.ranker.rank(question, passages, articles, trace)
        if not ranked:
            return Examination(ranked, abstain=True)
        if question.speaker and features.known_share(question.speaker.split(), question.alternatives, trace.idf) == 0:
            return Examination(ranked, abstain=True, absent=question.speaker)
        if self.model is None:
            abstain = self._abstain(question, trace.confidence, ranked, trace)
            return Examination(ranked, abstain=abstain, missing=_missing_kind(question, ranked))
        scores = self.model.sentence_scores(np.array([e.row for e in ranked]))
        ranked = [dataclasses.replace(e, score=float(s)) for e, s in zip(ranked, scores, strict=True)]
        ranked.sort(key=lambda e: -e.score)
        top = ranked[0]
        assert top.signals is not None
        margin = top.score - ranked[1].score if len(ranked) > 1 else 5.0
        vector = features.answerable_vector(
            question,
            top.signals,
            top.score,
            margin,
            trace.confidence,
            trace.same_lang,
            trace.idf,
            trace.corpus_lang,
            passages,
            articles,
            trace.hits[0].lexical if trace.hits else 0.0,
        )
        prob = self.model.answerable_probability(vector)
        missing = _missing_kind(question, ranked)
        return Examination(ranked, vector, prob, prob < self.model.threshold or missing is not None, missing)

    def answer(
        self, question: Question, passages: Sequence[Passage], articles: Mapping[str, Article], trace: Trace
    ) -> Answer:
        # A follow-up ('And vehicles?') is understood as the text searched for it, which carries the
        # earlier question it continues (``question.text``); the answer speaks to the question as asked.
        shown, searched = question.asked, question.searched
        exam = self.examine(question, passages, articles, trace)
        ranked = exam.ranked
        if exam.abstain:
            return Answer(shown, not_said(shown, exam.missing, exam.absent), None, True, [], list(passages), searched)
        margin = 0.6
        if self.model is None:
            ranked = self._prefer_counted_target(question, ranked, TARGET_MARGIN)
        else:
            # When both are quoted anyway, the one counting what the question asks about leads.
            margin = SECOND_CITATION_MARGIN
            ranked = self._prefer_counted_target(question, ranked, margin)
        ranked = _prefer_measured(question, ranked, margin)
        chosen = [ranked[0]]
        for ev in ranked[1:]:
            if len(chosen) >= self.settings.max_citations:
                break
            if ev.score >= ranked[0].score - margin and all(_apart(ev, c) for c in chosen):
                chosen.append(ev)
        citations = []
        for n, ev in enumerate(chosen, 1):
            art = articles[ev.article_id]
            citations.append(
                Citation(
                    n,
                    art.id,
                    art.source,
                    art.title,
                    ev.start,
                    ev.end,
                    quote(art, ev.start, ev.end),
                    round(ev.score, 4),
                    art.meta.dated(),
                )
            )
        span = self._short(question, chosen[0])
        short = span or chosen[0].text
        target = question.target
        if target and short != chosen[0].text and extract.conflicting_origin(target, short):
            # 'How many Russian soldiers ...?' is not answered by '29 ukrainische Soldaten'.
            return Answer(shown, not_said(shown), None, True, [], list(passages), searched)
        lines = []
        missing = no_short_answer(shown, question.asks, question.measure) if span is None else None
        if missing:
            lines.append(missing)
        if short != chosen[0].text:
            # an English asker reads the numbers and dates in English notation; quotes stay verbatim
            english = detect_language(shown) == "en" and articles[chosen[0].article_id].lang == "de"
            shown_short = notation.english(short) if english else short
            if english and self.gloss is not None:
                shown_short = notation.glossed(shown_short, self.gloss)
            lines.append(f"{shown_short} [1]")
        lines += [f"„{c.quote}“ [{c.n}]" for c in citations]
        return Answer(
            shown, "\n\n".join(lines), short, False, citations, list(passages), searched, short_found=span is not None
        )

    def _prefer_counted_target(self, question: Question, ranked: list[Evidence], margin: float) -> list[Evidence]:
        """For 'how many X': between the two best sentences, lead with the one whose counted phrase
        is most like X, when their evidence scores are within ``margin``."""
        target = question.target
        top = [e for e in ranked[:2] if e.typed]
        if not target or len(top) < 2 or top[0].score - top[1].score > margin:
            return ranked
        # Best match first; on a tie (the same noun counted in both), the sentence whose numbers
        # count the asked kind of thing on average: 'Soldaten und Kriegsfahrzeuge' before
        # 'Militäranalysten, Armeen, Divisionen ... Soldaten'.
        match = []
        for e in top:
            sims = cosines(self.encoder, target, [extract.counted(c.text) for c in e.typed])
            match.append((round(float(sims.max()), 2), float(sims.mean())))
        if match[1] > match[0]:
            return [top[1], top[0], *ranked[2:]]
        return ranked

    def _abstain(
        self, question: Question, confidence: float, ranked: list[Evidence], trace: Trace | None = None
    ) -> bool:
        """Say the articles don't say when the evidence is weak overall, when a 'how many'
        question counts something no number in the evidence counts, or when a question for a date
        finds no date."""
        if confidence + 0.5 * ranked[0].sim < self.settings.min_confidence:
            return True
        target = question.target
        if target:
            units = [c.text for e in ranked[:2] for c in e.typed]
            if not units:
                return True
            need = self.settings.min_target_match
            if _unseen(target, trace):
                need = max(need, UNSEEN_TARGET_MATCH)
            if float(cosines(self.encoder, target, units).max()) < need:
                return True
        if question.asks_date:
            # 'On what date ...?' is not answered by 'in den kommenden Monaten'.
            return not any(extract.is_calendar_date(c.text) for e in ranked[:2] for c in e.typed)
        return False

    def _short(self, question: Question, ev: Evidence) -> str | None:
        today = self.typed_short(question, ev.text, ev.typed, ev.tags)
        # The typed rules' span (a number phrase for 'how many X' matched to X, a date, a name after
        # an office) stays; the span model picks a few words where they give none.
        if self.span_model is not None and today is None:
            cands, x = self.span_rows(question, ev.text, today, ev.tags)
            chosen = self.span_model.choose(x)
            if chosen is not None:
                return cands[chosen[0]].text
        return today.text if today is not None else None

    def span_rows(
        self, question: Question, sentence: str, today: extract.Span | None, tags: Sequence[int] | None = None
    ) -> tuple[list[spans.Candidate], np.ndarray]:
        """The short-answer candidates of ``sentence`` and their ``spanmodel.FEATURES`` rows (``tags``:
        the sentence's tags kept with the index, if any)."""
        toks, cands = spans.candidates(sentence, question.asks, question.text, known=tags)
        if not cands:
            return [], np.zeros((0, len(spanmodel.FEATURES)))
        sims = cosines(self.encoder, question.text, [spanmodel.context(sentence, c) for c in cands])
        where = (today.start, today.end) if today is not None else None
        return cands, spanmodel.rows(question, toks, cands, where, sims)

    def typed_short(
        self, question: Question, sentence: str, typed: list[extract.Span], tags: Sequence[int] | None = None
    ) -> extract.Span | None:
        """Today's typed rules: the answer-shaped span of the asked type, if any (``tags``: as kept with
        the index)."""
        qtype = question.asks
        cands = _new_information(question.text, typed) if qtype in ("who", "where", "role") else typed
        if qtype == "who":  # a name after an office is surely a person; other capitalised pairs may not be
            cands = spans.proper_names(
                sentence, [c for c in cands if c.kind == "role-name"] or cands, tags, question.names
            )
        if question.asks_date:  # 'An welchem Datum ...?': '10. September' rather than '2016'
            cands = [c for c in cands if extract.names_day_or_month(c.text)] or cands
        if not cands:
            return None
        target = question.target
        stated = extract.stated_as(sentence, question.text, cands) if qtype == "count" and len(cands) > 1 else None
        if stated is not None:
            best = stated
        elif len(cands) > 1 and target:
            best = cands[int(np.argmax(cosines(self.encoder, target, [extract.counted(c.text) for c in cands])))]
        elif len(cands) > 1:
            # Each candidate with a few words before it: 'Streitmacht von etwa 100.000 Soldaten'.
            sims = cosines(self.encoder, question.text, [sentence[max(0, c.start - 30) : c.end] for c in cands])
            anchors = _anchor_positions(question, sentence)
            scores = []
            for c, s in zip(cands, sims, strict=True):
                near = min((abs(c.start - a) for a in anchors), default=len(sentence))
                scores.append(s - 0.002 * near)
            best = cands[int(np.argmax(scores))]
        else:
            best = cands[0]
        if qtype == "count":
            best = extract.join_coordinated(sentence, cands, best)
        return best


def _prefer_measured(question: Question, ranked: list[Evidence], margin: float) -> list[Evidence]:
    """For a question asking a measure ('How much did it cost?'): when the best sentence names none
    and a sentence close enough to be quoted beside it does ('31 Millionen Euro'), that one leads."""
    if not question.measure or not ranked or ranked[0].typed:
        return ranked
    for k, ev in enumerate(ranked[1:3], 1):
        if ev.typed and ev.score >= ranked[0].score - margin:
            return [ev, *ranked[:k], *ranked[k + 1 :]]
    return ranked


def _missing_kind(question: Question, ranked: list[Evidence]) -> str | None:
    """The kind of answer the question asks for that the two best sentences do not name (a measure,
    a date, a number), for saying so; None when they name it or none is asked."""
    if not _type_missing(question, ranked):
        return None
    return question.measure or ("when" if question.asks_date else "count")


def _type_missing(question: Question, ranked: list[Evidence]) -> bool:
    """The question asks for a number or a date and the two best sentences give none: 'How many X'
    with no number phrase, 'On what date ...' with no calendar date ('in den kommenden Monaten')."""
    spans = [c for e in ranked[:2] for c in e.typed]
    if question.target or question.measure:  # the typed spans hold only phrases of the asked measure
        return not spans
    if question.asks_date:
        return not any(extract.is_calendar_date(c.text) for c in spans)
    return False


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


def _anchor_positions(question: Question, sentence: str) -> list[int]:
    """Where words of the question (stems, folded) occur in the sentence."""
    qtok = question.words
    out = []
    for m in re.finditer(r"\w+", sentence):
        toks = set(tokens(m.group(0), "de")) | set(tokens(m.group(0), "en"))
        if toks & qtok:
            out.append(m.start())
    return out


def _unseen(target: str, trace: Trace | None) -> bool:
    """No word of ``target`` occurs in the indexed articles (only decidable in their language)."""
    if trace is None or trace.idf is None or not trace.same_lang:
        return False
    words = tokens(target, trace.corpus_lang)
    return bool(words) and all(trace.idf(w) is None for w in words)


def _apart(a: Evidence, b: Evidence) -> bool:
    return a.article_id != b.article_id or a.end <= b.start or b.end <= a.start
