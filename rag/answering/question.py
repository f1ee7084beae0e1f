"""Reading a question once: its language, what it asks for, its names, numbers and words, and for
an English question over German articles the German words it is searched and matched by.

Everything after this reads the ``Question``: the search (its German terms), the evidence ranking
(its words and renderings), answerability (its names, the type asked) and the short answer. The
patterns that tell what a question asks for (its type, what a 'how many' counts, whether a calendar
date is asked) are here; the measure it asks for is read by ``quantity``.
"""

from __future__ import annotations

import re

from rag.answering import features, quantity
from rag.language import dictionary as ding
from rag.language.lexical import detect_language, tokens
from rag.language.thesaurus import Thesaurus
from rag.types import Question, read_as


def read(
    asked: str,
    searched: str | None = None,
    corpus_lang: str = "de",
    dictionary: ding.Dictionary | None = None,
    thesaurus: Thesaurus | None = None,
) -> Question:
    """The question as asked, and ``searched`` (what is searched for it; the question itself when
    not given). ``dictionary`` renders an English question's words into German for articles in
    German; ``thesaurus`` gives a German question's words their synonyms."""
    searched = searched or asked
    lang = detect_language(searched)
    asks = question_type(asked)
    text = read_as(asked, searched)  # a follow-up is read with the question it continues
    if text != asked and asks == "other":
        asks = question_type(text)
    measure = quantity.asked(text)
    if measure is not None and asks not in ("count", "when"):
        asks = "when" if measure == "year" else "count"  # 'What share of ...?', 'Wie teuer ...?'
    german: dict[str, float] = {}
    alternatives: dict[str, frozenset[str]] = {}
    if lang == "en" and corpus_lang == "de" and dictionary is not None:
        german = ding.german_terms(searched, dictionary)
        alternatives = ding.word_renderings(text, dictionary)
    elif lang == "de" and thesaurus is not None:
        alternatives = {s: found for s in tokens(text, "de") if (found := thesaurus.synonyms(s))}
    return Question(
        asked=asked,
        searched=searched,
        lang=lang,
        asks=asks,
        target=count_target(text) if asks == "count" else None,
        measure=measure,
        asks_date=asks == "when" and asks_for_date(text),
        names=tuple(features.question_names(text)),
        words=frozenset(tokens(text, "de")) | frozenset(tokens(text, "en")),
        numbers=frozenset(features.numbers_of(text)),
        pairs=frozenset(features.word_pairs(text)),
        german=german,
        alternatives=alternatives,
        speaker=speaker_of(text),
    )


_SAY_EN = (
    r"say|said|claim|claimed|announce|tell|write|think|mean|warn|demand|propose|promise|reply|respond|"
    r"answer|describe|argue|state|suggest|criticise|criticize|call"
)
_SAY_DE = (
    r"sagte|sagt|meinte|meint|forderte|fordert|erklärte|erklärt|kündigte|schrieb|schreibt|betonte|"
    r"behauptete|behauptet|antwortete|versprach|warnte|kritisierte|verlangte|verlangt"
)
_SAID_DE = r"gesagt|gemeint|gefordert|erklärt|angekündigt|geschrieben|betont|behauptet|geantwortet|versprochen|gewarnt"
_NAME_WORD = r"[A-ZÄÖÜ][\w'’.-]*"
_SPEAKER = (
    re.compile(rf"\b(?i:what|how)\s+(?:did|does|do|has|have|had|will|would)\s+({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})"
               rf"\s+(?:{_SAY_EN})\b"),
    re.compile(rf"\b(?i:was|wie)\s+(?:{_SAY_DE})\s+({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})\b(?!\s+[A-ZÄÖÜ])"),
    re.compile(rf"\b(?i:was)\s+(?:hat|haben)\s+({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})\s[^?]*\b(?:{_SAID_DE})\b"),
)  # fmt: skip


def speaker_of(question: str) -> str | None:
    """The name whose words the question asks for ('What did Macron say about ...?', 'Was sagte
    Stoltenberg ...?'), when it asks that of a capitalised name; None otherwise."""
    for pattern in _SPEAKER:
        if m := pattern.search(question):
            return m.group(1)
    return None


_WH = re.compile(
    r"\b(what|which|who|whom|whose|when|where|how|why|wer|wen|wem|wessen|wann|wo|wohin|woher|wie|wieviele?|"
    r"welche[mnrs]?|warum|weshalb|wieso)\b",
    re.IGNORECASE,
)
_TYPES = (
    (
        "count",
        r"\bhow\s+(many|much)\b|\bwie\s*viele?\b|\bwieviele?\b|\bwhat\s+number\b|\banzahl\b|"
        r"\bwie\s+(hoch|groß|gross|stark|alt)\b|\bhow\s+(large|big|high|old)\b|\bpopulation\b|\beinwohnerzahl\b",
    ),
    (
        "when",
        r"\bwhen\b|\bwhat\s+(year|date|day|month|time|period)\b|\bwhich\s+(year|date|day|month|period)\b|"
        r"\bwann\b|\bin\s+welchem\s+(jahr|monat|zeitraum)\b|\ban\s+welchem\s+(tag|datum)\b|\bseit\s+wann\b|"
        r"\bhow\s+long\b|\bwie\s+lange\b|\binnerhalb\s+welche|\bwelchen\s+zeitraum\b",
    ),
    (
        "role",
        r"\bwhat\s+(position|office|post|role|title|job)\b|\bwhich\s+(position|office|post|title)\b|"
        r"\bwelche[sn]?\s+(amt|posten|funktion|position|titel|rolle)\b",
    ),
    (
        "who",
        r"\bwho(m|se)?\b|\bwer\b|\bwen\b|\bwem\b|\bwhich\s+(person|minister|official|leader|analysts?)\b|"
        r"\bwelche[rs]?\s+(person|minister|politiker|analyst)",
    ),
    (
        "where",
        r"\bwhere\b|\bwo\b|\bwohin\b|\bwoher\b|\bin\s+which\s+(city|country|place|region)\b|"
        r"\bin\s+welche[mn]?\s+(stadt|land|ort|region)\b|\bto\s+which\s+country\b",
    ),
)


def question_type(question: str) -> str:
    """'count', 'when', 'role', 'who', 'where' or 'other', read first at the question's first
    question word (with the word before it: 'in which year'), so a relative clause later on ('what
    position does the man who ...') does not decide it; then in the whole question ('what was the
    name of the player who ...')."""
    whole = question.lower()
    m = _WH.search(whole)
    if m:
        before = whole[: m.start()].split()[-1:]
        opening = " ".join([*before, *whole[m.start() :].split()[:4]])
        for name, pattern in _TYPES:
            if re.search(pattern, opening):
                return name
    for name, pattern in _TYPES:
        if re.search(pattern, whole):
            return name
    return "other"


_TARGET = re.compile(
    # 'how many of the paper's journalists', 'wie viele der Journalisten': what is counted follows
    r"(?:how\s+many|wie\s*viele|wieviele)\s+(?:of\s+(?:the|its|their|his|her)\s+(?:[\w-]+['’]s\s+)?|der\s+|dieser\s+)?"
    r"((?:[\w-]+\s+){0,2}?[\w-]+?)"
    r"(?=\s+(?:did|do|does|is|are|was|were|has|have|had|will|would|can|could|in|of|on|at|to|for|from|"
    r"died|make|made|killed|sent|reported|interviewed|cited|deployed|"
    r"hat|haben|hatte|hatten|ist|sind|war|waren|wird|werden|wurden|will|wollen|gab|gibt|starben|schicken|"
    r"schätzen|kamen|sollen|soll|laut|nach|im|in|an|von)\b|\s*[?.]|$)"
    r"|wie\s+(?:hoch|groß|gross)\s+(?:ist|sind|war|waren)\s+(?:der|die|das|den)?\s*([\w-]+)",
    re.IGNORECASE,
)


def count_target(question: str) -> str | None:
    """The thing a 'how many' question counts ('war vehicles', 'Soldaten'), if it names one."""
    m = _TARGET.search(question)
    if not m:
        return None
    target = (m.group(1) or m.group(2) or "").strip()
    words = [w for w in target.split() if w.lower() not in {"more", "additional", "weitere", "mehr", "laut"}]
    return " ".join(words) or None


_ASKS_DATE = re.compile(
    r"\b(?:what|which)\s+(?:date|day)\b|\bon\s+what\s+date\b|\ban\s+welchem\s+(?:tag|datum)\b|"
    r"\bwelches\s+datum\b|\bzu\s+welchem\s+datum\b",
    re.IGNORECASE,
)


def asks_for_date(question: str) -> bool:
    """'On what date ...', 'An welchem Tag ...': a calendar date is the answer, not a period."""
    return bool(_ASKS_DATE.search(question))
