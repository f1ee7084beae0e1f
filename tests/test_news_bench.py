"""The news check's scoring of a fact answer: right (contains the gold), loosely right (the gold's
words in a row, punctuation and articles aside), exact (equal that way), token F1; a decline
scores nothing."""

from __future__ import annotations

import json

import pytest

from bench.news import MISSES, Corpus, miss_of, score_fact
from rag.training.evaluate import loose_contains
from rag.training.quality import NEWS_DIR
from rag.types import Answer, Citation


@pytest.mark.parametrize(
    ("short", "gold", "holds"),
    [
        ("28", "28.", True),
        ("die Leistenverletzung", "Leistenverletzung", True),
        ("in der 50. Minute", "50. Minute", True),
        ("121 Stimmen", "21 Stimmen", False),
        ("regelmäßigen Pfeifton", "hohen und regelmäßigen Pfeifton", False),
        (None, "Kolibri", False),
    ],
)
def test_loosely_right_holds_the_gold_words_in_a_row(short: str | None, gold: str, holds: bool) -> None:
    assert loose_contains(short, gold) is holds


def _item(question_id: str) -> dict:
    rows = [json.loads(line) for line in (NEWS_DIR / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    return next(r for r in rows if r["id"] == question_id)


@pytest.mark.parametrize(
    ("short", "right", "loosely", "exact", "f1"),
    [
        ("28.", True, True, True, 1.0),
        ("28", False, True, True, 1.0),  # the ordinal's period aside
        ("der 28. Weltcupsieg", True, True, False, 2 / 3),  # article dropped: '28' of '28 weltcupsieg'
        ("Platz 21", False, False, False, 0.0),
    ],
)
def test_a_fact_answer_is_scored_strictly_loosely_and_exactly(
    short: str, right: bool, loosely: bool, exact: bool, f1: float
) -> None:
    item = _item("fact-070-6")  # gold "28.": 'Der 28. Weltcupsieg von Svindal, ...'
    scores = score_fact(item, Answer(item["question"], f"{short} [1]", short, False), Corpus(NEWS_DIR))
    assert (scores["short_answer_right"], scores["loosely_right"], scores["exact"]) == (right, loosely, exact)
    assert scores["token_f1"] == pytest.approx(f1)
    assert scores["passage_quoted"] is False  # no citation given


def test_a_declined_fact_question_scores_nothing() -> None:
    item = _item("fact-070-6")
    scores = score_fact(item, Answer(item["question"], "The articles don't say.", None, True), Corpus(NEWS_DIR))
    assert scores["declined"] and not scores["loosely_right"] and not scores["exact"] and scores["token_f1"] == 0.0


def test_a_missed_fact_answer_says_how_it_missed() -> None:
    item = _item("fact-070-6")  # gold "28.": 'Der 28. Weltcupsieg von Svindal, ...'
    corpus = Corpus(NEWS_DIR)
    text = corpus.texts[item["article"]]
    gold = text.index(item["evidence"])

    def miss(answer: Answer) -> str | None:
        return miss_of(item, answer, score_fact(item, answer, corpus))

    def cited(source: str, start: int, end: int, short: str | None) -> Answer:
        quote = corpus.texts[source][start:end] if source in corpus.texts else "Etwas anderes."
        c = Citation(1, "a1", f"/news/{source}", "Titel", start, end, quote, 1.0)
        return Answer(item["question"], f"{short} [1]", short, False, [c])

    assert miss(cited(item["article"], gold, gold + 40, "28.")) is None
    assert miss(Answer(item["question"], "The articles don't say.", None, True)) == MISSES[0]
    assert miss(cited(item["article"], gold, gold + 40, "Platz 21")) == MISSES[1]
    assert miss(cited(item["article"], 0, 20, "Platz 21")) == MISSES[2]
    assert miss(cited("000_anderer_artikel.txt", 0, 20, "Platz 21")) == MISSES[3]
