"""Short-answer candidates inside one evidence sentence: name runs, numbers with what they count,
dates, noun phrases (with a genitive or prepositional attachment), the typed spans of ``extract``.

No candidate crosses a clause boundary (comma, semicolon, colon, dash, bracket, quote). Part-of-speech
tags come from HanTa (German, STTS) when it is installed; without it, word shapes stand in (numbers,
capitalised words, a closed list of articles and prepositions) and one warning says so.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata

from rag.answering import extract, features
from rag.index.lexicon import Analyser

log = logging.getLogger(__name__)

# A token: an ordinal before a word ('3. März', 'in der 50. Minute', 'der 28. Weltcupsieg'), a number
# with its group separators ('40.000', '3,5'), a word with inner hyphens or apostrophes, or one
# punctuation mark.
_TOKEN = re.compile(
    r"\d{1,3}\.(?=\s+[^\W\d_])|\d+(?:[.,:]\d+)*|[^\W\d_](?:[\w]|[-'’](?=\w))*|\w+|[^\w\s]",
)
_ORDINAL = re.compile(r"\d{1,3}\.")
_BOUNDARY = set(",;:–—-()[]{}\"„“”«»‚‘’'/|.!?…")
_ARTICLES = {"der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines"}
_PREPOSITIONS = {
    "in", "im", "an", "am", "auf", "aus", "bei", "beim", "mit", "nach", "von", "vom", "zu", "zum", "zur",
    "über", "unter", "vor", "hinter", "neben", "zwischen", "durch", "für", "gegen", "ohne", "um", "seit", "bis",
}  # fmt: skip
_NUMBER_WORD = re.compile(rf"^(?:{extract._NUMWORDS})$", re.IGNORECASE)
# Coarse classes of STTS tags (level 1 as HanTa gives them: 'ADJ(A)', 'VV(FIN)').
_COARSE = {"NE": "NE", "FM": "NE", "NN": "NN", "CARD": "CARD", "ART": "ART", "APPR": "APPR", "APPRART": "APPR"}
TAGS = ("NE", "NN", "CARD", "ART", "ADJ", "APPR", "DET", "OTHER")


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str
    tag: str  # one of TAGS, or 'SEP' for a clause boundary


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    text: str
    kinds: frozenset[str]  # 'name', 'number', 'date', 'np', 'np-attach', 'pp', 'typed'
    first: int  # index of its first and last token
    last: int


@functools.lru_cache(maxsize=1)
def tagger() -> object | None:
    """HanTa's German tagger, loaded once; None (with one warning) when HanTa is not installed."""
    try:
        from HanTa import HanoverTagger

        return HanoverTagger.HanoverTagger("morphmodel_ger.pgz")
    except Exception as exc:  # noqa: BLE001 - any failure to load means the same: tag by word shape
        log.warning("HanTa is not available (%s): short-answer candidates come from word shapes only", exc)
        return None


def coarse(stts: str) -> str:
    base = stts.split("(")[0]
    if base in _COARSE:
        return _COARSE[base]
    if base == "ADJ" or base.startswith("ADJ"):
        return "ADJ"
    if base.startswith("P") and base.endswith("AT") or base in ("PIAT", "PPOSAT", "PDAT", "PWAT"):
        return "DET"
    return "OTHER"


def _shape_tag(word: str, first: bool) -> str:
    low = word.lower()
    if word[0].isdigit() or _NUMBER_WORD.match(word):
        return "CARD"
    if low in _ARTICLES:
        return "ART"
    if low in _PREPOSITIONS:
        return "APPR"
    if word[0].isupper():
        return "NN" if first or extract._NOUN_ENDING.search(word) else "NE"
    return "ADJ" if re.search(r"(?:e|en|er|es|em)$", low) else "OTHER"


def tag(sentence: str, use_tagger: bool = True, known: Sequence[int] | None = None) -> list[Token]:
    """The tokens of ``sentence`` with coarse tags; clause boundaries tagged 'SEP'. ``known``: the codes
    ``analyse`` gave the same sentence when it was indexed (used when they fit its tokens)."""
    found = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(sentence)]
    if known is not None and len(known) == len(found):
        return [Token(a, b, w, CODES[int(c)]) for (a, b, w), c in zip(found, known, strict=True)]
    words = [w for _, _, w in found]
    model = tagger() if use_tagger else None
    tags: list[str] = []
    if model is not None and words:
        tags = [coarse(t) for _, _, t in model.tag_sent(words, taglevel=1)]  # type: ignore[attr-defined]
    if len(tags) != len(words):
        tags = [_shape_tag(w, i == 0) for i, w in enumerate(words)]
    out = []
    for (a, b, w), t in zip(found, tags, strict=True):
        if w in _BOUNDARY:
            t = "SEP"
        elif w[0].isdigit() or _NUMBER_WORD.match(w):
            t = "ADJ" if _ORDINAL.fullmatch(w) else "CARD"
        out.append(Token(a, b, w, t))
    return out


CODES = (*TAGS, "SEP")  # a stored tag is its position here
ANALYSIS = "a1"  # bump when tag() gives other tags for the same sentence


def analysis_version(loaded: bool = False) -> str:
    """What the tags stored with an index depend on: this code's rules and the tagger (HanTa and its
    version, or word shapes without it). Tags of another version are not used. ``loaded``: ask the
    loaded tagger (indexing) rather than the installed package (opening an index, without loading it)."""
    try:
        version = metadata.version("hanta")
    except metadata.PackageNotFoundError:
        version = None
    if version is None or (loaded and tagger() is None):
        return f"{ANALYSIS}-shapes"
    return f"{ANALYSIS}-hanta-{version}"


def analyse(sentence: str) -> list[int]:
    """The tags of ``sentence``'s tokens as ``CODES`` positions, to keep with the index."""
    return [CODES.index(t.tag) for t in tag(sentence)]


def analyser() -> Analyser:
    """The sentence analysis kept with an index: ``analyse`` under this code's and the tagger's version."""
    return Analyser(analysis_version(loaded=True), analyse)


def proper_names(
    sentence: str, found: list[extract.Span], known: Sequence[int] | None = None, asked: Sequence[str] = ()
) -> list[extract.Span]:
    """Name candidates of a 'who' question cut to their proper-noun part by HanTa's tags: leading
    common nouns go ('Nachrichtenagentur Ansa' -> 'Ansa', 'Isländer Gisli Örn' -> 'Gisli Örn') and a
    run without a proper noun is no name ('Frisch-Klassiker', 'Tabellenvorletzten'). A name after an
    office loses the office ('Verteidigungsminister Sergey Schoigu' -> 'Sergey Schoigu'), unless the
    question names that person (``asked``: its names; 'Who is Jens Stoltenberg?' asks for the office)
    or no word after the office is tagged a name. Unchanged without HanTa: word shapes cannot tell."""
    if tagger() is None or not found:
        return found
    toks = [t for t in tag(sentence, known=known) if t.tag != "SEP"]
    out = []
    for span in found:
        inside = [t for t in toks if span.start <= t.start and t.end <= span.end]
        office = span.kind == "role-name"
        # the first name word; after an office, the first after the office's own word
        first = next((t for t in (inside[1:] if office else inside) if t.tag == "NE"), None)
        name = sentence[first.start : span.end] if first is not None else ""
        if office and (first is None or (asked and features.names_found(asked, name) > 0)):
            out.append(span)
        elif first is not None:
            out.append(extract.Span(first.start, span.end, name, span.kind))
    return out


# lowercase words inside a name: 'University of Michigan', 'Centre for ...', 'Charles de Gaulle'
_NAME_JOINERS = {"of", "for", "de", "du", "da", "di", "del", "van", "von", "la", "le"}


def _name_part(tok: Token) -> bool:
    """A capitalised name, noun or adjective goes on a run of names ('Journal of Experimental Psychology')."""
    return tok.tag in ("NE", "NN", "ADJ") and tok.text[:1].isupper()


def _runs(toks: list[Token]) -> list[tuple[int, int]]:
    """(first, last) token index pairs of the clause pieces between boundaries."""
    out, start = [], 0
    for i, t in enumerate([*toks, Token(0, 0, "", "SEP")]):
        if t.tag == "SEP":
            if i > start:
                out.append((start, i - 1))
            start = i + 1
    return out


def _np_end(toks: list[Token], i: int, stop: int) -> int | None:
    """Last token of a noun phrase starting at ``i`` (article/determiner, adjectives, nouns/names,
    numbers), or None when no noun follows."""
    j = i
    while j <= stop and toks[j].tag in ("ART", "DET"):
        j += 1
    while j <= stop and toks[j].tag in ("ADJ", "CARD"):
        j += 1
        # coordinated adjectives: 'mit einem hohen und regelmäßigen Pfeifton'
        if j + 1 <= stop and toks[j].text in ("und", "oder") and toks[j - 1].tag == "ADJ" and toks[j + 1].tag == "ADJ":
            j += 1
    if j > stop or toks[j].tag not in ("NN", "NE"):
        return None
    while j + 1 <= stop and toks[j + 1].tag in ("NN", "NE"):
        j += 1
    return j


def candidates(
    sentence: str, qtype: str, question: str, use_tagger: bool = True, known: Sequence[int] | None = None
) -> tuple[list[Token], list[Candidate]]:
    """The tagged tokens of ``sentence`` and its answer candidates, in reading order (``known``: its
    tags from the index, see ``tag``)."""
    toks = tag(sentence, use_tagger, known)
    found: dict[tuple[int, int], set[str]] = {}

    def add(i: int, j: int, kind: str) -> None:
        found.setdefault((i, j), set()).add(kind)

    for lo, hi in _runs(toks):
        i = lo
        while i <= hi:  # runs of names, across a joining word: 'University of Michigan', 'Charles de Gaulle'
            if toks[i].tag == "NE" and toks[i].text[:1].isupper():
                j = i
                while True:
                    if j + 1 <= hi and _name_part(toks[j + 1]):
                        j += 1
                    elif j + 2 <= hi and toks[j + 1].text in _NAME_JOINERS and _name_part(toks[j + 2]):
                        j += 2
                    else:
                        break
                add(i, j, "name")
                i = j + 1
            else:
                i += 1
        for i in range(lo, hi + 1):
            t = toks[i]
            if t.tag == "CARD" or _ORDINAL.fullmatch(t.text):  # '28.' in 'der 28. Weltcupsieg' too
                add(i, i, "number")
                j = i
                while j + 2 <= hi and toks[j + 1].text.lower() in ("bis", "und", "oder") and toks[j + 2].tag == "CARD":
                    j += 2
                end = _np_end(toks, j + 1, hi) if j + 1 <= hi else None
                if end is not None:
                    add(i, end, "number")
                    if i > lo and toks[i - 1].tag in ("ADJ", "OTHER") and toks[i - 1].text.lower() in _MODIFIERS:
                        add(i - 1, end, "number")
            if t.tag in ("ART", "DET", "ADJ", "NN", "NE", "CARD") and (i == lo or toks[i - 1].tag not in ("ADJ",)):
                end = _np_end(toks, i, hi)
                if end is None:
                    continue
                add(i, end, "np")
                # a genitive or prepositional attachment: 'die Armee des Landes', 'Truppen an der Grenze'
                nxt = end + 1
                if nxt <= hi and toks[nxt].tag in ("ART", "APPR"):
                    k = nxt + 1 if toks[nxt].tag == "APPR" else nxt
                    tail = _np_end(toks, k, hi) if k <= hi else None
                    if tail is not None and tail - i < 8:
                        add(i, tail, "np-attach")
            if t.tag == "APPR" and i + 1 <= hi:
                # two prepositions in a row read as one: 'innerhalb von anderthalb Jahren', 'bis zu 40.000'
                k = i + 2 if toks[i + 1].tag == "APPR" and i + 2 <= hi else i + 1
                end = _np_end(toks, k, hi)
                if end is not None:
                    add(i, end, "pp")
    spans = {(m.start(), m.end()) for m in extract._DATE.finditer(sentence)}
    typed = {(s.start, s.end) for s in extract.candidates(sentence, qtype, question)} if qtype != "other" else set()
    for a, b, kind in [*((a, b, "date") for a, b in spans), *((a, b, "typed") for a, b in typed)]:
        ij = _token_range(toks, a, b)
        if ij is not None:
            add(*ij, kind)
    out = []
    for (i, j), kinds in found.items():
        a, b = toks[i].start, toks[j].end
        out.append(Candidate(a, b, sentence[a:b], frozenset(kinds), i, j))
    return toks, sorted(out, key=lambda c: (c.start, c.end))


_MODIFIERS = {"etwa", "rund", "ungefähr", "fast", "knapp", "mindestens", "über", "mehr", "bis"}


def _token_range(toks: list[Token], a: int, b: int) -> tuple[int, int] | None:
    """Token indexes covering characters [a, b), trimmed of boundaries; None when a boundary lies inside."""
    idx = [k for k, t in enumerate(toks) if t.start >= a and t.end <= b]
    while idx and toks[idx[-1]].tag == "SEP":
        idx.pop()
    while idx and toks[idx[0]].tag == "SEP":
        idx.pop(0)
    if not idx or any(toks[k].tag == "SEP" for k in idx):
        return None
    return idx[0], idx[-1]
