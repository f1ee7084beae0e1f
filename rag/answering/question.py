"""Reading a question once: its language, what it asks for, its names, numbers and words, and for
an English question over German articles the German words it is searched and matched by.

Everything after this reads the ``Question``: the search (its German terms), the evidence ranking
(its words and renderings), answerability (its names, the type asked) and the short answer.
"""

from __future__ import annotations

from rag.answering import extract, features, quantity
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
    asks = extract.question_type(asked)
    text = read_as(asked, searched)  # a follow-up is read with the question it continues
    if text != asked and asks == "other":
        asks = extract.question_type(text)
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
        target=extract.count_target(text) if asks == "count" else None,
        measure=measure,
        asks_date=asks == "when" and extract.asks_for_date(text),
        names=tuple(features.question_names(text)),
        words=frozenset(tokens(text, "de")) | frozenset(tokens(text, "en")),
        numbers=frozenset(features.numbers_of(text)),
        pairs=frozenset(features.word_pairs(text)),
        german=german,
        alternatives=alternatives,
    )
