"""Sentence-aware chunking with exact character offsets into the article text."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.types import Article, Chunk

CHUNKER_VERSION = "s2"  # bump when chunk boundaries change: indexes are then rebuilt

# Abbreviations after which a period does not end a sentence (German and English news text).
# Single letters ("z. B.", "u. a.", "John F. Kennedy") are handled by the length rule below.
_ABBREVIATIONS = {
    "bzw",
    "ca",
    "dr",
    "prof",
    "nr",
    "st",
    "usw",
    "vgl",
    "inkl",
    "ggf",
    "mr",
    "mrs",
    "ms",
    "jr",
    "sr",
    "vs",
    "etc",
    "jh",
    "mio",
    "mrd",
    "abs",
    "art",
    "str",
    "min",
    "max",
    "gen",
    "no",
    "co",
    "corp",
    "inc",
    "ltd",
    "mt",
    "ft",
    "bsp",
    "evtl",
    "tel",
    "dt",
    "engl",
    "franz",
    "lt",
    "hl",
}
_MONTHS = "januar|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember|jänner"
# Words after which "<number>." is an ordinal ("der 2. Weltkrieg", "im 19. Jahrhundert").
_ORDINAL_CUES = {
    "der",
    "die",
    "das",
    "dem",
    "den",
    "des",
    "zum",
    "zur",
    "am",
    "im",
    "vom",
    "beim",
    "ab",
    "seit",
}
_HEADING_OR_ITEM = re.compile(r"#{1,6}\s|[-*•]\s")
# A terminator, optional closing quotes/brackets, whitespace, then what may start a sentence.
_BOUNDARY = re.compile(r"[.!?…]+[\"'“”»«)\]]*(?=\s+[\"'„“»«(\[]?[A-ZÄÖÜ0-9])")
_ORDINAL_DATE = re.compile(rf"\b\d{{1,2}}\.\s+(?:{_MONTHS})\b", re.IGNORECASE)
# Characters that never start or end a sentence span (a byte-order mark counts as space).
_SPACE = " \t\n\r\f\v\ufeff\u00a0\u2009\u200b"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    paragraph: int


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start] in _SPACE or text[start].isspace()):
        start += 1
    while end > start and (text[end - 1] in _SPACE or text[end - 1].isspace()):
        end -= 1
    return start, end


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Non-empty paragraph spans: a blank line ends one, a heading is one of its own, and a
    list item or heading line starts a new one."""
    spans: list[tuple[int, int]] = []
    start = 0
    pos = 0
    for line in text.splitlines(keepends=True):
        end = pos + len(line)
        if not line.strip():
            spans.append((start, pos))
            start = end
        elif _HEADING_OR_ITEM.match(line.lstrip(_SPACE)):
            spans.append((start, pos))
            start = pos
            if line.lstrip(_SPACE).startswith("#"):
                spans.append((pos, end))
                start = end
        pos = end
    spans.append((start, len(text)))
    trimmed = (_trim(text, s, e) for s, e in spans)
    return [(s, e) for s, e in trimmed if e > s]


def _is_false_boundary(text: str, dot: int) -> bool:
    """True when the period at ``dot`` belongs to an abbreviation, an initial or an ordinal."""
    if text[dot] != ".":
        return False
    before = re.search(r"(\w+)\s*$", text[max(0, dot - 30) : dot])
    if before is None:
        return False
    word = before.group(1)
    if word.isalpha() and (len(word) == 1 or word.lower() in _ABBREVIATIONS):
        return True
    if word.isdigit() and len(word) <= 3:
        line_start = text.rfind("\n", 0, dot - len(word)) + 1
        if not text[line_start : dot - len(word)].strip(_SPACE):
            return True  # a numbered list item: "1. ..."
        if _ORDINAL_DATE.match(text, dot - len(word)):
            return True
        cue = re.search(r"(\w+)\s+$", text[max(0, dot - len(word) - 12) : dot - len(word)])
        return cue is not None and cue.group(1).lower() in _ORDINAL_CUES
    return False


def _wrap(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at clause marks or spaces so no piece exceeds ``limit``."""
    pieces = []
    while end - start > limit:
        window = text[start : start + limit]
        cut = max(window.rfind("; "), window.rfind(": "), window.rfind(", "))
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit - 1
        pieces.append(_trim(text, start, start + cut + 1))
        start = _trim(text, start + cut + 1, end)[0]
    pieces.append((start, end))
    return [p for p in pieces if p[1] > p[0]]


def sentences(text: str, limit: int = 600) -> list[Span]:
    """Sentence spans of ``text`` in order; none crosses a paragraph or exceeds ``limit``."""
    spans: list[Span] = []
    for p, (pstart, pend) in enumerate(paragraphs(text)):
        pos = pstart
        for m in _BOUNDARY.finditer(text, pstart, pend):
            if _is_false_boundary(text, m.start()):
                continue
            s, e = _trim(text, pos, m.end())
            if e > s:
                spans.extend(Span(a, b, p) for a, b in _wrap(text, s, e, limit))
            pos = m.end()
        s, e = _trim(text, pos, pend)
        if e > s:
            spans.extend(Span(a, b, p) for a, b in _wrap(text, s, e, limit))
    return spans


@functools.lru_cache(maxsize=512)
def article_sentences(text: str) -> tuple[Span, ...]:
    """``sentences(text)`` remembered for the articles being read: answering asks for the same
    article's sentences for every passage of every question."""
    return tuple(sentences(text))


def chunk_article(article: Article, max_chars: int) -> list[Chunk]:
    """Pack consecutive sentences of a paragraph into chunks of at most ``max_chars``.

    Consecutive chunks share one sentence, so a fact stated across a sentence
    boundary is still inside one chunk.
    """
    sents = sentences(article.text, limit=max_chars)
    chunks: list[Chunk] = []
    i = 0
    while i < len(sents):
        j = i + 1
        while (
            j < len(sents) and sents[j].paragraph == sents[i].paragraph and sents[j].end - sents[i].start <= max_chars
        ):
            j += 1
        start, end = sents[i].start, sents[j - 1].end
        chunks.append(
            Chunk(
                id=_chunk_id(article.id, start, end),
                article_id=article.id,
                source=article.source,
                title=article.title,
                start=start,
                end=end,
                text=article.text[start:end],
                seq=len(chunks),
            )
        )
        if j >= len(sents):
            break
        # Overlap by one sentence when the next chunk can then still grow past this one.
        overlap = (
            j - 1 > i and sents[j].paragraph == sents[i].paragraph and sents[j].end - sents[j - 1].start <= max_chars
        )
        i = j - 1 if overlap else j
    return chunks


def widen(text: str, start: int, end: int, budget: int, relevance: Sequence[float] | None = None) -> tuple[int, int]:
    """Grow ``[start, end)`` by whole neighbouring sentences of the same paragraph up to ``budget``
    chars. With ``relevance`` (a score per sentence of ``article_sentences(text)``), the more
    relevant neighbour is taken first; without, the next and the previous one in turn."""
    sents = article_sentences(text)
    inside = [k for k, s in enumerate(sents) if s.end > start and s.start < end]
    if not inside:
        return start, end
    if relevance is not None and len(relevance) != len(sents):
        relevance = None
    lo, hi = inside[0], inside[-1]
    para = sents[lo].paragraph
    grew = True
    while grew:
        grew = False
        fits = [
            cand
            for cand in (hi + 1, lo - 1)
            if 0 <= cand < len(sents)
            and sents[cand].paragraph == para
            and sents[max(hi, cand)].end - sents[min(lo, cand)].start <= budget
        ]
        if relevance is not None and fits:
            fits = [max(fits, key=lambda c: relevance[c])]  # one at a time, the more relevant first
        for cand in fits:
            if sents[max(hi, cand)].end - sents[min(lo, cand)].start <= budget:
                lo, hi, grew = min(lo, cand), max(hi, cand), True
    return min(start, sents[lo].start), max(end, sents[hi].end)


def _chunk_id(article_id: str, start: int, end: int) -> str:
    return f"{article_id}:{start}-{end}"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


# A news body opens with its dateline: one to four capitalised words (places joined by '/', an
# agency in brackets) and a dash, after the teaser's last sentence: "Eisenstadt – ", "Tel Aviv – ",
# "Washington/Kiew – ". Only the article's first part is searched.
_DATELINE = re.compile(
    r"(?:^|(?<=[.!?\"“”:)] ))[A-ZÄÖÜ][\w.'’()-]*(?:[ /][A-ZÄÖÜ(][\w.'’()-]*){0,3} {1,2}[–—] {1,2}(?=\S)"
)
_DATELINE_WITHIN = 700


@functools.lru_cache(maxsize=512)
def dateline_start(text: str) -> int | None:
    """Offset of the news body's dateline ("Wien – Der ..."), or None when the article has none near
    its start. The sentences before it are the teaser: they sum the story up and name its people."""
    m = _DATELINE.search(text, 0, _DATELINE_WITHIN)
    return m.start() if m else None
