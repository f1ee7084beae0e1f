"""The quality benchmark: its coverage rule, and a small real run through the pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.training.evaluate import XQuADItem, covers, load_xquad, score_xquad
from rag.training.quality import PEERS, XQUAD_DIR, evaluate_xquad, select
from rag.training.report import tables
from rag.types import Answer, Passage

ROOT = Path("data")
GOLD = "data/articles/a.txt"
# "Wann wurde die erste Warschauer Börse gegründet?" -> "1817"
EASY_DE = "5733834ed058e614000b5c26"


def _passage(source: str, start: int, end: int) -> Passage:
    return Passage("a", source, "A", start, end, "x" * (end - start), 1.0)


def _answer(short: str | None, *passages: Passage) -> Answer:
    return Answer("Wer?", short or "", short, short is None, [], list(passages))


def test_a_passage_counts_only_when_it_covers_the_whole_answer_span() -> None:
    item = XQuADItem("q", "de", "Wer?", "Luke Kuechly", "articles/a.txt", 100)  # [100, 112)
    assert covers(GOLD, 90, 112, GOLD, item.start, item.end)
    assert covers("data/./articles/a.txt", 100, 112, GOLD, item.start, item.end)
    assert not covers(GOLD, 90, 111, GOLD, item.start, item.end)  # ends one char early
    assert not covers(GOLD, 101, 140, GOLD, item.start, item.end)
    assert not covers("data/articles/b.txt", 0, 500, GOLD, item.start, item.end)
    # an index built from another checkout of the same data
    assert covers("/elsewhere/checkout/data/articles/a.txt", 100, 112, GOLD, item.start, item.end)
    assert not covers("/elsewhere/checkout/data/other/a.txt", 100, 112, GOLD, item.start, item.end)

    early = score_xquad([item], [_answer("x", _passage(GOLD, 90, 111))], ROOT)
    assert early.results[0].rank is None
    assert early.rates()["recall_at_5"] == 0.0

    ans = _answer(
        "Linebacker  LUKE\nKuechly",
        _passage("data/articles/b.txt", 0, 500),
        _passage(GOLD, 90, 111),
        _passage(GOLD, 95, 115),
    )
    rates = score_xquad([item], [ans], ROOT).rates("de")
    assert (rates["recall_at_1"], rates["recall_at_5"]) == (0.0, 1.0)
    assert rates["mrr_at_10"] == pytest.approx(1 / 3, abs=1e-4)
    assert rates["short_answer_accuracy"] == 1.0  # case and whitespace do not matter
    assert rates["mean_top_passage_chars"] == 500
    assert rates["mean_passage_chars"] == pytest.approx((500 + 21 + 20) / 3, abs=1e-3)


def test_short_answer_misses_are_sorted_by_kind() -> None:
    item = XQuADItem("q", "de", "Wen?", "die Pittsburgh Steelers", "articles/a.txt", 10)
    hit = _passage(GOLD, 0, 100)
    loose = score_xquad([item], [_answer("Pittsburgh Steelers", hit)], ROOT)
    assert loose.rates()["short_answer_accuracy"] == 0.0
    assert loose.rates()["short_answer_accuracy_loose"] == 1.0
    assert loose.results[0].kind(5) == "near_span"
    missed = score_xquad([item], [_answer("Denver", _passage(GOLD, 200, 300))], ROOT)
    assert missed.results[0].kind(5) == "retrieval_miss"
    wrong = score_xquad([item], [_answer("Denver", hit)], ROOT)
    assert wrong.results[0].kind(5) == "wrong_sentence"  # no citation covers the span
    abstained = score_xquad([item], [_answer(None, hit)], ROOT)
    assert abstained.results[0].kind(5) == "abstained"
    assert abstained.rates()["abstain_on_answerable"] == 1.0


def test_eval_on_two_articles_scores_ours_and_the_peers(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from rag.config import Settings

    every = load_xquad(XQUAD_DIR)
    items, names = select(every, articles=2, limit=8)
    items += [it for it in every if it.id == EASY_DE and it.lang == "de"]
    report = evaluate_xquad(Settings(), encoders, items, names, tmp_path, PEERS)

    assert report["articles"] == 2
    assert set(report["systems"]) == {"ours", *PEERS}
    for name, by_lang in report["systems"].items():
        for lang in ("en", "de"):
            m = by_lang[lang]
            assert m["questions"] == (9 if lang == "de" else 8), (name, lang)
            for key in (
                "recall_at_1",
                "recall_at_5",
                "mrr_at_10",
                "short_answer_accuracy",
            ):
                assert 0.0 <= m[key] <= 1.0, (name, lang, key)
            r1, r5, mrr = m["recall_at_1"], m["recall_at_5"], m["mrr_at_10"]
            assert r1 <= r5, (name, lang)
            # A hit at rank 2..5 adds between 1/5 and 1/2 to the reciprocal rank.
            assert r1 + (r5 - r1) / 5 - 1e-3 <= mrr <= r1 + (1 - r1) / 2 + 1e-3, (
                name,
                lang,
            )
            assert m["mean_top_passage_chars"] > 0, (name, lang)
    ours = report["systems"]["ours"]
    assert ours["de"]["recall_at_5"] >= 0.75
    assert ours["de"]["mean_short_answer_chars"] < report["systems"]["bm25"]["de"]["mean_short_answer_chars"]
    easy = next(q for q in report["ours_questions"] if q["id"] == EASY_DE and q["lang"] == "de")
    assert easy["rank"] == 1 and easy["kind"] == "ok", easy
    # A kept workdir (--workdir) is updated in place on the next run: the same figures, the peers
    # made afresh rather than holding every chunk twice.
    again = evaluate_xquad(Settings(), encoders, items, names, tmp_path, PEERS)
    for name in report["systems"]:
        assert {k: again["systems"][name][k] for k in ("en", "de")} == {
            k: report["systems"][name][k] for k in ("en", "de")
        }
    printed = tables({"xquad": report, "seconds": 1.0})
    assert "| ours de | 9 |" in printed and "| langchain en | 8 |" in printed
    json.dumps(report)  # the report is written as JSON


def test_train_and_eval_outside_a_checkout_say_where_their_data_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag import cli
    from rag.training import quality

    monkeypatch.setattr(quality, "XQUAD_DIR", tmp_path / "no-xquad")  # as in an installed copy without the data
    for argv in (["train", "--workdir", str(tmp_path / "w")], ["eval", "--data", "xquad"]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no-xquad/questions.jsonl is missing" in err and "run the command there" in err
