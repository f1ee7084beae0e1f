"""News-desk requests: questions about the articles themselves rather than a fact inside one.

- overview: "What is this article about?", "Worum geht es im Artikel über X?", "Fasse ... zusammen"
- collection: "Which articles mention X?", "Welche Artikel berichten über X?"
- latest: "What is the latest on X?", "Was gibt es Neues zu X?"
- metadata: "When was this published?", "Wer hat den Artikel über X geschrieben?", "Which site?"

A request names its subject ("the article about the border fence") or points at the article of the
last answer ("this article", "it"); either way it is never joined to the question before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OVERVIEW, COLLECTION, LATEST, METADATA = "overview", "collection", "latest", "metadata"

_ART_EN = r"(?:article|story|piece|report|text|news item|post)"
_ART_DE = r"(?:artikel|artikels|bericht|berichts|beitrag|beitrags|text|meldung|nachricht)"
_ABOUT_EN = r"(?:\s+(?:about|on|regarding|concerning|of)\s+(?P<s>.+?))?"
_ABOUT_DE = r"(?:\s+(?:über|zu|zum|zur|zu den|um|von)\s+(?P<s>.+?))?"
_THE_EN = r"(?:this|the|that|this news|the last|the previous)"
_THE_DE = r"(?:der|die|das|den|dem|dieser|diese|dieses|diesen|diesem|im|in dem|in diesem)"

_PATTERNS: list[tuple[str, str | None, str]] = [
    # -- overview
    (OVERVIEW, None, rf"what(?:'s| is| was) {_THE_EN} {_ART_EN}{_ABOUT_EN}\s+(?:is |was )?about"),
    (OVERVIEW, None, rf"what does {_THE_EN} {_ART_EN}{_ABOUT_EN}\s+(?:say|report|tell us)"),
    (
        OVERVIEW,
        None,
        rf"(?:please\s+)?(?:summari[sz]e|sum up|recap)(?:\s+{_THE_EN}\s+{_ART_EN}|\s+the news|\s+it)?{_ABOUT_EN}",
    ),
    (
        OVERVIEW,
        None,
        rf"give (?:me )?(?:a |the )?(?:summary|gist|overview|short version) of {_THE_EN} {_ART_EN}{_ABOUT_EN}",
    ),
    (OVERVIEW, None, rf"(?:a )?summary of {_THE_EN} (?:{_ART_EN}|news){_ABOUT_EN}"),
    (OVERVIEW, None, rf"worum geht es (?:{_THE_DE}|in|bei) {_ART_DE}{_ABOUT_DE}"),
    (OVERVIEW, None, rf"was steht (?:{_THE_DE}) {_ART_DE}{_ABOUT_DE}"),
    (
        OVERVIEW,
        None,
        rf"(?:bitte\s+)?fasse? (?:mir\s+)?(?:bitte\s+)?(?:{_THE_DE}\s+{_ART_DE}|die nachrichten|ihn|es)"
        rf"{_ABOUT_DE}\s+(?:kurz\s+)?zusammen",
    ),
    (OVERVIEW, None, rf"(?:eine\s+)?zusammenfassung (?:des|dieses) {_ART_DE}{_ABOUT_DE}"),
    # -- collection
    (
        COLLECTION,
        None,
        r"(?:which|what) (?:articles|stories|reports|pieces|news items|texts)(?: in the index)?"
        r"\s+(?:mention|name|cite|talk about|are about|report on|report about|deal with|cover|refer to|discuss)"
        r"\s+(?P<s>.+?)",
    ),
    (COLLECTION, None, r"(?:in )?which articles? (?:is|are|was|were|does) (?P<s>.+?) (?:mentioned|named|appear)"),
    (
        COLLECTION,
        None,
        r"(?:list|show|find)(?: me)?(?: all)?(?: the)? (?:articles|stories|reports)"
        r"(?: that mention| which mention| mentioning| about| on| naming)\s+(?P<s>.+?)",
    ),
    (
        COLLECTION,
        None,
        r"welche (?:artikel|berichte|meldungen|texte|beiträge|nachrichten)\s+(?:erwähnen|nennen|berichten über|"
        r"berichten von|handeln von|behandeln|befassen sich mit|sprechen über|beschäftigen sich mit|drehen sich um)"
        r"\s+(?P<s>.+?)",
    ),
    (
        COLLECTION,
        None,
        r"in welchen (?:artikeln|berichten|texten|meldungen) (?:wird|werden|kommt|kommen|ist|sind|geht es um)"
        r"\s+(?P<s>.+?)(?:\s+(?:erwähnt|genannt|vor|die rede))?",
    ),
    (
        COLLECTION,
        None,
        r"(?:zeige?|liste?|finde?)(?: mir)?(?: alle)?(?: die)? (?:artikel|berichte) (?:über|zu|mit)\s+(?P<s>.+?)",
    ),
    # -- latest
    (
        LATEST,
        None,
        r"what(?:'s| is) (?:the )?(?:latest|newest|most recent)(?: news| article| story| report| word)?"
        r"\s+(?:on|about|regarding|concerning|in|from|with)\s+(?P<s>.+?)",
    ),
    (LATEST, None, r"what(?:'s| is) new (?:on|about|with|in|from)\s+(?P<s>.+?)"),
    (LATEST, None, r"(?:any |the )?(?:latest|newest|recent) (?:news|article|story) (?:on|about)\s+(?P<s>.+?)"),
    (LATEST, None, r"was gibt es neues (?:zu|zum|zur|über|von|bei|beim|vom|aus|in|im)\s+(?P<s>.+?)"),
    (
        LATEST,
        None,
        r"was ist (?:der )?(?:neueste|aktuelle|letzte) stand (?:zu|zum|zur|bei|beim|in|im|über)\s+(?P<s>.+?)",
    ),
    (LATEST, None, r"(?:was ist das neueste|die neuesten nachrichten|neues) (?:zu|zum|zur|über|von|aus)\s+(?P<s>.+?)"),
    # -- metadata
    (
        METADATA,
        "date",
        rf"when (?:was|were|did) (?:{_THE_EN}|it)(?: {_ART_EN})?{_ABOUT_EN}\s+"
        r"(?:published|written|posted|released|come out|appear|dated|run)",
    ),
    (METADATA, "date", rf"what(?:'s| is) the (?:publication )?date of {_THE_EN} {_ART_EN}{_ABOUT_EN}"),
    (METADATA, "date", rf"(?:what|which) (?:date|day) (?:is|was) {_THE_EN} {_ART_EN}{_ABOUT_EN}(?: from| published)?"),
    (METADATA, "date", rf"on (?:what|which) (?:date|day) was {_THE_EN} {_ART_EN}{_ABOUT_EN} (?:published|written)"),
    (METADATA, "date", rf"how (?:old|recent) is {_THE_EN} {_ART_EN}{_ABOUT_EN}"),
    (
        METADATA,
        "author",
        rf"who (?:wrote|authored|penned|is the author of|is the writer of) (?:{_THE_EN}|it)(?: {_ART_EN})?{_ABOUT_EN}",
    ),
    (METADATA, "author", rf"who(?:'s| is) the (?:author|writer)(?: of {_THE_EN} {_ART_EN})?{_ABOUT_EN}"),
    (
        METADATA,
        "site",
        rf"(?:which|what) (?:news )?(?:site|website|newspaper|paper|outlet|publication|medium|source) "
        rf"(?:published|ran|carried|is|was|does|did)(?: {_THE_EN}| it)?(?: {_ART_EN})?(?: come from| from)?{_ABOUT_EN}",
    ),
    (METADATA, "site", rf"where (?:was|is|did) (?:{_THE_EN}|it)(?: {_ART_EN})?{_ABOUT_EN}\s+(?:published|from|appear)"),
    (METADATA, "site", rf"what(?:'s| is) the source of {_THE_EN} {_ART_EN}{_ABOUT_EN}"),
    (
        METADATA,
        "date",
        rf"wann (?:wurde|ist|erschien|war) (?:{_THE_DE}\s*)?{_ART_DE}{_ABOUT_DE}\s*"
        r"(?:veröffentlicht|erschienen|geschrieben|publiziert|online)?(?: worden)?",
    ),
    (
        METADATA,
        "date",
        rf"wann (?:wurde|ist|erschien|war) (?:{_THE_DE}|er|es|sie)(?:\s*{_ART_DE})?{_ABOUT_DE}\s*"
        r"(?:veröffentlicht|erschienen|geschrieben|publiziert|online gegangen)(?: worden)?",
    ),
    (
        METADATA,
        "date",
        rf"(?:von wann|aus welchem jahr|seit wann) (?:ist|stammt) (?:{_THE_DE}|er|es)(?:\s*{_ART_DE})?{_ABOUT_DE}",
    ),
    (METADATA, "date", rf"welches datum (?:hat|trägt) (?:{_THE_DE}|er|es)(?:\s*{_ART_DE})?{_ABOUT_DE}"),
    (
        METADATA,
        "date",
        rf"(?:an welchem (?:tag|datum)|wann genau) (?:wurde|ist|erschien) (?:{_THE_DE}\s*)?{_ART_DE}{_ABOUT_DE}\s*"
        r"(?:veröffentlicht|erschienen|publiziert)?(?: worden)?",
    ),
    (METADATA, "author", rf"wer hat (?:{_THE_DE}|ihn|es|sie)(?:\s*{_ART_DE})?{_ABOUT_DE}\s+(?:geschrieben|verfasst)"),
    (
        METADATA,
        "author",
        rf"wer ist (?:der |die )?(?:autor|autorin|verfasser|verfasserin)(?: (?:des|dieses) {_ART_DE})?{_ABOUT_DE}",
    ),
    (METADATA, "author", rf"von wem (?:ist|stammt) (?:{_THE_DE}|er|es)(?:\s*{_ART_DE})?{_ABOUT_DE}"),
    (
        METADATA,
        "site",
        rf"(?:in |auf |aus |von )?welche[rmns]? (?:seite|website|webseite|zeitung|quelle|medium|portal)"
        rf"(?:\s+\w+){{0,3}}?(?:\s+(?:{_THE_DE}|er|es))?(?:\s*{_ART_DE})?{_ABOUT_DE}(?:\s+\w+){{0,2}}",
    ),
    (
        METADATA,
        "site",
        rf"wo (?:wurde|ist|erschien) (?:{_THE_DE}|er|es)(?:\s*{_ART_DE})?{_ABOUT_DE}"
        r"(?:\s+(?:veröffentlicht|erschienen))?",
    ),
    (METADATA, "site", rf"woher (?:stammt|kommt) (?:{_THE_DE}|er|es)(?:\s*{_ART_DE})?{_ABOUT_DE}"),
]
_COMPILED = [(kind, f, re.compile(rf"^\W*{p}\s*[?.!]*\s*$", re.IGNORECASE)) for kind, f, p in _PATTERNS]
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an|der|die|das|den|dem|des|ein|eine|einen|einem)\s+", re.IGNORECASE)
_POINTING = re.compile(r"^(?:this|that|it|these|dies|diese[mnrs]?|ihn|es)$", re.IGNORECASE)
# "this article" inside a fact question: answered from the article of the last answer.
THIS_ARTICLE = re.compile(
    rf"\b(?:(?:this|that|the same|the last) {_ART_EN}|diese[mnrs]? {_ART_DE}|(?:im|in dem) selben {_ART_DE}|"
    rf"in (?:dem|diesem) {_ART_DE})\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Request:
    """A news-desk request: what is asked, about which subject (None: the article of the last answer)."""

    kind: str
    subject: str | None = None
    field: str | None = None  # metadata: "date", "author" or "site"


def read_request(question: str) -> Request | None:
    """The request a question makes, or None for a question about a fact in the articles."""
    q = " ".join(question.split())
    for kind, field, pattern in _COMPILED:
        m = pattern.match(q)
        if m is None:
            continue
        subject = (m.groupdict().get("s") or "").strip(" \"'„“”‚‘’«»")
        subject = _LEADING_ARTICLE.sub("", subject).strip()
        if not subject or _POINTING.match(subject):
            subject = None
        if kind in (COLLECTION, LATEST) and subject is None:
            continue  # 'Which articles mention it?' names nothing to look for
        return Request(kind, subject, field)
    return None


def points_at_article(question: str) -> bool:
    """The question is about 'this article' (the one of the last answer)."""
    return bool(THIS_ARTICLE.search(question))


# "this article" led in by a preposition: 'laut diesem Artikel', 'according to this article', 'in dem
# Artikel' (not 'What does this article say?', where it is what is asked about)
_POINTER = re.compile(
    rf"\s*,?\s*(?:laut|nach|gemäß|according to|in|im|from|aus)\s+(?:(?:this|that|the same|the last) {_ART_EN}|"
    rf"diese[mnrs]? {_ART_DE}|(?:dem )?selben {_ART_DE}|(?:dem|diesem) {_ART_DE})\b\s*,?",
    re.IGNORECASE,
)


def without_pointer(question: str) -> str:
    """The question without its pointer at 'this article' ('Wie lang ist der Zaun laut diesem
    Artikel?' -> 'Wie lang ist der Zaun?'). The pointer says where to look, which the article
    chosen already says; searched and weighed as words of the question, it counts against the very
    sentence that answers. A question that is little else is kept as it is."""
    bare = re.sub(r"\s+([?.!])", r"\1", " ".join(_POINTER.sub(" ", question).split()))
    return bare[:1].upper() + bare[1:] if len(re.findall(r"\w+", bare)) >= 3 else question
