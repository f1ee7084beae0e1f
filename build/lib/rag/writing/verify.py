"""The citation check of a written answer: every sentence must cite a retrieved passage as [n], its
quotations must be verbatim in the cited article, and its numbers must be in the cited passages.

Markers that point at no passage are removed; a sentence that fails is left out and counted. The
citations of the result are the cited passages themselves, so they stay verbatim article spans.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from rag.answering.wording import quote
from rag.types import Answer, Article, Citation, Passage

_MARKER = re.compile(r"\[\s*(?:(?:passage|source|quelle|abschnitt)\s*)?(\d+(?:\s*[,;]\s*\d+)*)\s*\]", re.IGNORECASE)
_QUOTED = re.compile(r'„([^“”"\n]+)[“”"]|“([^”“\n]+)[”“]|"([^"\n]+)"|«([^»\n]+)»|»([^«\n]+)«')
_END = re.compile(r"[.!?…]+[\"'”“»«)]*(?:\s*\[[^\[\]\n]{1,40}\])*(?=\s|$)|\n+")
_NUMBER = re.compile(
    r"(?<!\w)(\d+(?:[.,'’\u00a0\u202f]\d{3})*(?:[.,]\d+)?)"
    r"(?:\s*(million|millionen|mio|milliarde|milliarden|billion|thousand|tausend)\b)?",
    re.IGNORECASE,
)
_SCALE = {"million": 1e6, "millionen": 1e6, "mio": 1e6, "milliarde": 1e9, "milliarden": 1e9, "billion": 1e9}
_SCALE |= {"thousand": 1e3, "tausend": 1e3}
_REASONS = {
    "uncited": "cited no passage",
    "misquoted": "quoted words that are not in the article",
    "number": "gave a number its passage does not contain",
}


@dataclass
class Checked:
    """The model's text after the citation check."""

    text: str
    cited: list[int]  # passage numbers, in the order of the rewritten markers [1], [2], ...
    dropped: Counter[str]


def check(raw: str, passages: Sequence[Passage], articles: Mapping[str, Article]) -> Checked:
    """Keep the sentences whose citations, quotations and numbers hold; renumber their markers."""
    quotes = [(m.start(), m.end(), next(g for g in m.groups() if g)) for m in _QUOTED.finditer(raw)]
    cuts = [0]
    for m in _END.finditer(raw):  # a sentence end inside a quotation is not one
        if not any(a < m.start() and m.end() < b for a, b, _ in quotes):
            cuts.append(m.end())
    cuts.append(len(raw))
    kept: list[tuple[str, str]] = []
    dropped: Counter[str] = Counter()
    last_end = 0
    for a, b in zip(cuts, cuts[1:], strict=False):
        body = raw[a:b].strip()
        if not body:
            continue
        start = raw.index(body, a)
        gap, last_end = raw[last_end:start], start + len(body)
        valid: list[int] = []

        def keep_valid(m: re.Match[str], valid: list[int] = valid) -> str:
            ns = [n for n in dict.fromkeys(int(x) for x in re.findall(r"\d+", m.group(1))) if 1 <= n <= len(passages)]
            valid.extend(ns)
            return "".join(f"[{n}]" for n in ns)

        body = re.sub(r"[ \t]+(?=[.!?,;:]|$)", "", _MARKER.sub(keep_valid, body))
        reason = _fault(body, valid, [q for qa, qb, q in quotes if qa < b and qb > a], passages, articles)
        if reason is None:
            kept.append(("\n\n" if "\n" in gap else " ", body))
        elif reason != "fragment":
            dropped[reason] += 1
    order: dict[int, int] = {}
    for _, body in kept:
        for n in _MARKER.findall(body):
            order.setdefault(int(n), len(order) + 1)
    text = "".join(sep + _MARKER.sub(lambda m: f"[{order[int(m.group(1))]}]", body) for sep, body in kept)
    return Checked(text.strip(), list(order), dropped)


def _fault(
    body: str, cited: list[int], quoted: list[str], passages: Sequence[Passage], articles: Mapping[str, Article]
) -> str | None:
    """Why a sentence cannot stay, or None when it can."""
    if not cited:
        return "uncited" if len(re.findall(r"\w+", body)) >= 3 else "fragment"
    sources = [passages[n - 1] for n in cited]
    texts = {_squash(articles[p.article_id].text) if p.article_id in articles else _squash(p.text) for p in sources}
    if any(all(_squash(q) not in t for t in texts) for q in quoted):
        return "misquoted"
    if not _numbers(_MARKER.sub("", body), exempt_small=True) <= _numbers(" ".join(p.text for p in sources)):
        return "number"
    return None


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'")).strip()


def _numbers(text: str, exempt_small: bool = False) -> set[float]:
    """The numbers in ``text`` as values: '40.000' and '40,000' are 40000, '1,5 Millionen' 1.5e6.
    Small bare counts are often spelled out in articles ('zwei'), so the answer's are not checked."""
    out = set()
    for m in _NUMBER.finditer(text):
        raw, scale = m.group(1), (m.group(2) or "").lower()
        if re.fullmatch(r"\d{1,3}(?:[.,'’\u00a0\u202f]\d{3})+", raw):
            value = float(re.sub(r"\D", "", raw))
        else:
            try:
                value = float(raw.replace(",", "."))
            except ValueError:
                value = float(re.sub(r"\D", "", raw))
        if exempt_small and not scale and value <= 12 and value.is_integer():
            continue
        out.add(round(value * _SCALE.get(scale, 1.0), 6))
    return out


def checked_answer(raw: str, extractive: Answer, articles: Mapping[str, Article]) -> Answer:
    """The model's answer after the check, or the extractive one when no sentence of it holds."""
    result = check(raw, extractive.passages, articles)
    why = ", ".join(f"{n} {_REASONS[r]}" for r, n in result.dropped.items())
    if not result.text:
        detail = f" ({why})" if why else ""
        notice = f"The written answer did not pass the citation check{detail}; this is the extractive answer."
        return replace(extractive, notice=notice)
    citations = []
    for new, old in enumerate(result.cited, 1):
        p = extractive.passages[old - 1]
        art = articles.get(p.article_id)
        span = quote(art, p.start, p.end) if art is not None else p.text
        dated = art.meta.dated() if art is not None else ""
        citations.append(Citation(new, p.article_id, p.source, p.title, p.start, p.end, span, round(p.score, 4), dated))
    first = re.split(r"(?<=[.!?])\s", re.sub(r"\s*\[\d+\]", "", result.text), maxsplit=1)[0].strip()
    total = sum(result.dropped.values())
    notice = f"Left out {total} sentence{'s' * (total > 1)} of the written answer: {why}." if total else None
    return replace(
        extractive,
        answer=result.text,
        short_answer=first,
        abstained=False,  # the extractive step may have declined; the checked written answer stands
        citations=citations,
        backend="llm",
        notice=notice,
    )
