"""The signals the learned answer models read: one function per model, shared by training and
answering so the two cannot drift. Bump ``VERSION`` whenever a feature's meaning changes; a model
trained on another version is not applied.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answering import extract
from rag.language.lexical import tokens
from rag.types import Article, Passage, Question

VERSION = 6
QTYPES = ("count", "when", "role", "who", "where")

CROSS = ("cross_use_z", "cross_primary_z", "cross_chunk_z", "cross_overlap", "cross_names", "cross_bigrams",
         "cross_overlap_alt", "cross_overlap_parts")  # fmt: skip
SENTENCE = (
    "use_z",  # second encoder's similarity to the question, standardised over the candidates
    "primary_z",  # embedding model's (stored) similarity, standardised
    "use",  # the raw similarities
    "primary",
    "chunk_z",  # retrieval score of the chunk holding the sentence, standardised
    "overlap",  # idf-weighted share of the question's words in the sentence
    "prev_primary_z",  # the sentence before it in the passage (0 when none)
    "next_primary_z",
    "passage_rank",  # 0, 1, 2
    "log_chars",
    "best_primary",  # the candidate most like the question by either encoder
    "best_use",
    *(f"typed_{t}" for t in QTYPES),  # holds an answer-shaped span of the asked type
    "count_match",  # 'how many X': best similarity of X to a counted phrase (0 when none)
    "names_in_sentence",  # share of the question's names the sentence holds
    "bigrams",  # share of the question's adjacent word pairs found adjacent in the sentence
    "numbers",  # share of the question's numbers (and roman numerals) found in the sentence
    "overlap_rarest",  # the sentence holds the question's rarest word
    # idf-weighted share of the question's words the sentence holds as they are or as one of their
    # alternatives: an English word's German renderings, a German word's synonyms
    "overlap_alt",
    # the same, a word also found as part of a compound ('sieg' in 'Weltcupsieg', 'welt' in 'Weltmeister')
    "overlap_parts",
    # the sentence before it in the passage holds the question's words and names (0 when none): the
    # answer often follows the sentence that sets the question's scene ('Ein Einkaufszentrum in
    # Spielfeld wurde erwähnt. Es gehört Anton Wieser, ...')
    "prev_overlap_parts",
    "prev_names",
    # where it stands in its article: the first sentence; the teaser before a news body's dateline
    # (it sums the story up and names its people, rarely the fact asked); the dateline sentence
    "first",
    "teaser",
    "dateline",
    # the same signals again for a question in another language than the articles' (0 otherwise), so
    # the model can weigh them differently across languages
    *CROSS,
)

ANSWERABLE = (
    "confidence",  # embedding similarity of the best chunk
    "top_primary",
    "top_use",
    "top_score",  # the sentence model's score of the chosen sentence
    "margin",  # its lead over the next candidate
    "top_overlap",
    "same_lang",
    # idf-weighted share of the question's words found anywhere in the articles (same language); for
    # a question in another language, the share of its names the articles know, as written or as one
    # of the dictionary's renderings ('Warsaw' as 'Warschau'; 'Macron' not at all)
    "known_terms",
    "has_names",
    # Share of the question's capitalised words found in the passages read and in the chosen
    # sentence, for a question in another language (mostly names) and in the articles' (names and nouns).
    "names_in_passages_cross",
    "names_in_top_cross",
    "names_in_passages_same",
    "names_in_top_same",
    "typed_top",  # the chosen sentence holds an answer of the asked type (1 for untyped questions)
    "typed_question",
    "count_match_top",
    "date_missing",  # the question asks for a date and the chosen sentence has none
    "log_bm25",
    "top_overlap_alt",
    "top_overlap_parts",  # the same, question words also found as parts of the sentence's compounds
)

_NAME = re.compile(r"(?<![\w-])([A-ZÄÖÜ][\w-]{2,}|[A-Z]{2,})")
_NOT_NAME = {
    "what", "which", "who", "whom", "whose", "when", "where", "how", "why", "the", "did", "does", "was",
    "were", "wer", "wen", "wem", "wann", "welche", "welcher", "welches", "welchen", "welchem", "wie",
    "warum", "die", "der", "das", "den", "dem", "des", "ein", "eine", "nach", "laut", "according",
    "in", "im", "is", "are", "can", "has", "have", "had", "seit", "von", "and", "und", "for",
    "mit", "aus", "auf", "an", "to", "from", "wieso", "weshalb", "wo", "woher", "wohin",
}  # fmt: skip


def question_names(question: str) -> list[str]:
    """Capitalised words of the question that are likely names ('Macron', 'Stoltenberg', 'NATO').
    German nouns are capitalised too, so a German question yields its nouns as well: a noun the
    articles never use is as telling as a name they never mention."""
    return list(dict.fromkeys(m.group(1) for m in _NAME.finditer(question) if m.group(1).lower() not in _NOT_NAME))


def _stem(word: str) -> str:
    """A loose stem shared by a name's inflections and both languages' spellings: 'Russia' and
    'Russland', 'Ukraine' and 'ukrainischen' share their first five letters (or the whole word)."""
    return word.lower()[:5]


def names_found(names: Sequence[str], text: str) -> float:
    """Share of ``names`` with a word of ``text`` starting like them (1.0 when there are none)."""
    if not names:
        return 1.0
    low = text.lower()
    found = sum(bool(re.search(rf"(?<!\w){re.escape(_stem(n))}", low)) for n in names)
    return found / len(names)


@dataclass(frozen=True)
class Candidate:
    """The raw signals of one candidate sentence, before standardising over the candidates."""

    text: str
    use: float
    primary: float
    chunk: float
    overlap: float
    passage_rank: int
    typed: bool
    count_match: float
    prev: int  # index of the sentence before it in the same passage, or -1
    next: int
    bigrams: float = 0.0
    numbers: float = 0.0
    rarest: float = 0.0
    overlap_alt: float = 0.0
    first: bool = False  # the article's first sentence
    teaser: bool = False  # before the article's dateline
    dateline: bool = False  # opens with the dateline
    overlap_parts: float = 0.0


def zs(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)


def sentence_matrix(question: Question, cands: Sequence[Candidate], cross: bool = False) -> np.ndarray:
    """One row of ``SENTENCE`` features per candidate; ``cross``: the question is in another language
    than the articles."""
    n = len(cands)
    use = np.array([c.use for c in cands], dtype=np.float64)
    prim = np.array([c.primary for c in cands], dtype=np.float64)
    use_z, prim_z = zs(use), zs(prim)
    chunk_z = zs(np.array([c.chunk for c in cands], dtype=np.float64))
    names, qtype = question.names, question.asks
    out = np.zeros((n, len(SENTENCE)))
    best_p, best_u = int(np.argmax(prim)), int(np.argmax(use))
    for i, c in enumerate(cands):
        typed = [float(c.typed and qtype == t) for t in QTYPES]
        named = names_found(names, c.text) if names else 0.0
        k = float(cross)
        out[i] = [
            use_z[i],
            prim_z[i],
            c.use,
            c.primary,
            chunk_z[i],
            c.overlap,
            prim_z[c.prev] if c.prev >= 0 else 0.0,
            prim_z[c.next] if c.next >= 0 else 0.0,
            c.passage_rank,
            math.log(max(len(c.text), 1)),
            float(i == best_p),
            float(i == best_u),
            *typed,
            c.count_match,
            named,
            c.bigrams,
            c.numbers,
            c.rarest,
            c.overlap_alt,
            c.overlap_parts,
            cands[c.prev].overlap_parts if c.prev >= 0 else 0.0,
            names_found(names, cands[c.prev].text) if c.prev >= 0 and names else 0.0,
            float(c.first),
            float(c.teaser),
            float(c.dateline),
            k * use_z[i],
            k * prim_z[i],
            k * chunk_z[i],
            k * c.overlap,
            k * named,
            k * c.bigrams,
            k * c.overlap_alt,
            k * c.overlap_parts,
        ]
    return out


def answerable_vector(
    question: Question,
    top: Candidate,
    top_score: float,
    margin: float,
    confidence: float,
    same_lang: bool,
    idf: Callable[[str], float | None] | None,
    corpus_lang: str,
    passages: Sequence[Passage],
    articles: Mapping[str, Article],
    bm25: float,
) -> np.ndarray:
    """The ``ANSWERABLE`` features of one question and its chosen sentence."""
    names, qtype = question.names, question.asks
    read = " ".join(articles[p.article_id].text[p.start : p.end] for p in passages[:3])
    date_missing = question.asks_date and not extract.is_calendar_date(top.text)
    in_read, in_top = names_found(names, read), names_found(names, top.text)
    return np.array(
        [
            confidence,
            top.primary,
            top.use,
            top_score,
            margin,
            top.overlap,
            float(same_lang),
            known_terms(question.text, idf, corpus_lang)
            if same_lang
            else known_share(question.names, question.alternatives, idf),
            float(bool(names)),
            0.0 if same_lang else in_read,
            0.0 if same_lang else in_top,
            in_read if same_lang else 0.0,
            in_top if same_lang else 0.0,
            float(top.typed) if qtype != "other" else 1.0,
            float(qtype != "other"),
            top.count_match if qtype == "count" else 1.0,
            float(date_missing),
            math.log1p(max(bm25, 0.0)),
            top.overlap_alt,
            top.overlap_parts,
        ]
    )


_NUMERIC = re.compile(r"(?<![\w])(?:\d[\d.,]*\d|\d|[IVXLC]{2,})(?![\w])")
_SEPARATOR = re.compile(r"(?<=\d)[.,](?=\d)")


def pair_overlap(question_pairs: set[tuple[str, str]], text: str) -> float:
    """Share of the question's adjacent word pairs (``word_pairs(question)``) that occur adjacent in ``text``."""
    return len(question_pairs & word_pairs(text)) / len(question_pairs) if question_pairs else 0.0


def word_pairs(text: str) -> set[tuple[str, str]]:
    """Adjacent word stems of ``text``, stemmed for either language."""
    out: set[tuple[str, str]] = set()
    for lang in ("de", "en"):
        t = tokens(text, lang)
        out.update(zip(t, t[1:], strict=False))
    return out


def numbers_of(text: str) -> set[str]:
    """The numbers and roman numerals of ``text``, their digits without separators, so a number
    written in English notation finds it in German ('40,000' and '40.000' are both '40000')."""
    return {_SEPARATOR.sub("", n) for n in _NUMERIC.findall(text)}


def numbers_found(asked: set[str], text: str) -> float:
    """Share of the question's numbers (``numbers_of(question)``) that ``text`` holds (0 when none)."""
    return len(asked & numbers_of(text)) / len(asked) if asked else 0.0


def known_share(
    names: Sequence[str], alternatives: Mapping[str, frozenset[str]], idf: Callable[[str], float | None] | None
) -> float:
    """Share of ``names`` some article holds, as written or as one of their ``alternatives`` (per word
    stem: 'Warsaw' as 'Warschau'); 1.0 when there are none or no index is at hand."""
    if idf is None or not names:
        return 1.0
    known = 0
    for name in names:
        stems = {*tokens(name, "en"), *tokens(name, "de")}
        others = {a for st in stems for a in alternatives.get(st, ())}
        known += any(idf(t) is not None for t in stems | others)
    return known / len(names)


def known_terms(question: str, idf: Callable[[str], float | None] | None, lang: str) -> float:
    """Share of the question's words (weighted by rarity) that occur anywhere in the articles."""
    words = set(tokens(question, lang))
    if idf is None or not words:
        return 1.0
    seen = {w: idf(w) for w in words}
    known = [v for v in seen.values() if v is not None]
    # A word no article has is weighted like the rarest known one: it would have been rare.
    unseen_w = max(known, default=1.0)
    total = sum(known) + unseen_w * sum(v is None for v in seen.values())
    return sum(known) / total if total > 0 else 1.0


PART = 4  # shortest stem counted as part of a compound


def compound_parts(stems: Iterable[str]) -> set[str]:
    """Every stem with its beginnings and endings of at least ``PART`` letters: a question word
    found in one is found as part of a compound ('weltcupsieg' holds 'sieg' and 'weltcup')."""
    out: set[str] = set()
    for st in stems:
        out.add(st)
        for k in range(PART, len(st)):
            out.add(st[:k])
            out.add(st[-k:])
    return out


def in_parts(forms: set[str], stems: set[str], parts: set[str]) -> bool:
    """One of a question word's ``forms`` is a word of the text (``stems``), or (``PART`` letters or
    more) part of one of its compounds (``parts``, from ``compound_parts``)."""
    return any(f in stems or (len(f) >= PART and f in parts) for f in forms)
