"""The seed gold set (tests/data/seed_gold.jsonl) through the real pipeline.

Per-question misses are expected (docs/quality.md lists them); the rates must not fall below the
floors here, and every answer keeps the verbatim-quote invariant.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SEED, assert_quotes_verbatim

from rag.training.evaluate import load_gold, score_gold

GOLD = Path(__file__).parent / "data" / "seed_gold.jsonl"


@pytest.fixture(scope="module")
def report(seed_bot):  # type: ignore[no-untyped-def]
    items = load_gold(GOLD)
    answers = [seed_bot.ask(it.question) for it in items]
    texts = {aid: a.text for aid, a in seed_bot.retriever.articles.items()}
    for ans in answers:
        assert_quotes_verbatim(ans, texts)
    return score_gold(items, answers, SEED.read_text(encoding="utf-8"))


def test_gold_set_is_big_and_checked() -> None:
    items = load_gold(GOLD)
    text = SEED.read_text(encoding="utf-8")
    assert len(items) >= 30
    assert {it.lang for it in items} == {"en", "de"}
    assert sum(not it.answerable for it in items) >= 10
    for it in items:
        for s in it.answers + it.evidence:
            assert s in text, (it.id, s)


def test_gold_rates(report) -> None:  # type: ignore[no-untyped-def]
    rates = report.rates()
    print("seed gold rates:", rates)
    assert rates["short_answer_accuracy"] >= 0.70
    assert rates["citation_accuracy"] >= 0.90
    assert rates["abstain_on_unanswerable"] >= 0.35
    # The learned answerability model declines 8 of 63 answerable questions here (docs/quality.md,
    # "Trained on news as well": 6 before the compound parts, 7 before the phrase renderings; the
    # aim is at most 2).
    assert rates["abstain_on_answerable"] <= 0.13


def test_off_topic_questions_abstain(report) -> None:  # type: ignore[no-untyped-def]
    off_topic = {"s64", "s65"}  # football, apple strudel
    for r in report.results:
        if r.item.id in off_topic:
            assert r.answer.abstained, r.item.question
            assert r.answer.short_answer is None
            assert r.answer.citations == []
            assert "don't say" in r.answer.answer or "nichts" in r.answer.answer


def test_key_numbers_are_the_short_answer(report) -> None:  # type: ignore[no-untyped-def]
    by_id = {r.item.id: r for r in report.results}
    for qid in ("s02", "s05", "s06", "s09", "s10", "s14"):
        r = by_id[qid]
        assert r.short_ok, (r.item.question, r.answer.short_answer)
        assert r.cited_ok, (r.item.question, [c.quote for c in r.answer.citations])
