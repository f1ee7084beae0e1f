"""The trained answer models: fitting is reproducible, the shipped file loads and is applied, and
the answers it leads to on the seed article."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.answering import features
from rag.answering.learned import DEFAULT_MODEL, AnswerModel, load
from rag.errors import RagError
from rag.training.train import fit_answerable, fit_sentence, pick_threshold


def _groups(seed: int, n: int = 60) -> list[tuple[np.ndarray, int]]:
    """Questions of 6 candidates each; the gold one has a higher 'primary_z' and 'overlap'."""
    rng = np.random.default_rng(seed)
    out = []
    d = len(features.SENTENCE)
    for _ in range(n):
        x = rng.normal(size=(6, d))
        g = int(rng.integers(6))
        x[g, features.SENTENCE.index("primary_z")] += 3.0
        x[g, features.SENTENCE.index("overlap")] += 1.0
        out.append((x, g))
    return out


def test_sentence_fit_is_reproducible_and_learns_the_signal() -> None:
    a, b = fit_sentence(_groups(0)), fit_sentence(_groups(0))
    assert a.to_json() == b.to_json()  # same data, same file
    w = dict(zip(a.names, a.weights, strict=True))
    assert w["primary_z"] > 0.5 and w["overlap"] > 0.2
    held = _groups(1)
    right = sum(int(np.argmax(a(x))) == g for x, g in held)
    assert right / len(held) > 0.8  # picks the gold candidate on questions it was not fitted on


def test_answerable_fit_and_threshold() -> None:
    rng = np.random.default_rng(2)
    d = len(features.ANSWERABLE)
    x = rng.normal(size=(400, d))
    y = (x[:, features.ANSWERABLE.index("names_in_passages_cross")] + 0.3 * rng.normal(size=400) > 0).astype(int)
    lin = fit_answerable(x, y)
    assert lin.to_json() == fit_answerable(x, y).to_json()
    probs = 1 / (1 + np.exp(-lin(x)))
    thr = pick_threshold(probs[y == 1], 0.05)
    assert np.mean(probs[y == 1] < thr) <= 0.05
    assert np.mean(probs[y == 0] < thr) > 0.8


def test_shipped_model_loads_and_names_its_training(encoders) -> None:  # type: ignore[no-untyped-def]
    model = load(None)
    assert model is not None, "rag/models/answer.json is missing or stale: python -m rag train"
    assert model.fits([e.name for e in encoders])
    info = model.info
    assert info["heldout"]["en"]["abstain_on_answerable"] <= 0.06
    # Fitted on the news training questions too, with their on-topic questions the articles leave open.
    assert "news" in info["data"] and info["on_topic_unanswerable"] >= 80
    assert info["heldout_news"]["de"]["abstain_on_answerable"] <= 0.06
    # A round trip through JSON keeps every number.
    again = AnswerModel.from_json(json.loads(json.dumps(model.to_json())))
    row = np.linspace(-1, 1, len(features.SENTENCE))
    assert float(again.sentence_scores(row)[0]) == pytest.approx(float(model.sentence_scores(row)[0]), abs=1e-6)


def test_a_damaged_model_file_says_how_to_restore_it(tmp_path: Path) -> None:
    bad = tmp_path / "answer.json"
    bad.write_text(DEFAULT_MODEL.read_text(encoding="utf-8")[:200], encoding="utf-8")
    with pytest.raises(RagError, match="python -m rag train"):
        load(bad)


def test_questions_about_things_the_article_never_names_are_declined(seed_bot) -> None:  # type: ignore[no-untyped-def]
    for q in ("What did Macron say about the troops?", "Who won the 2014 FIFA World Cup?"):
        ans = seed_bot.ask(q)
        assert ans.abstained, (q, ans.answer)
        assert ans.citations == [] and ans.short_answer is None
    # Whose words were asked for, when no article names them, is said.
    assert "never mention Macron" in seed_bot.ask("What did Macron say about the troops?").answer
    german = seed_bot.ask("Was hat Macron zu den Truppen gesagt?")
    assert german.abstained and "erwähnen Macron nicht" in german.answer


def test_answerable_seed_questions_are_answered_with_the_learned_model(seed_bot) -> None:  # type: ignore[no-untyped-def]
    assert seed_bot.answerer.model is not None
    ans = seed_bot.ask("How many troops did Shoigu claim?")
    assert not ans.abstained
    assert ans.citations
    text = seed_bot.retriever.articles[ans.citations[0].article_id].text
    c = ans.citations[0]
    assert text[c.start : c.end] == c.quote


def test_held_out_folds_and_constructed_unanswerable_questions(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Two articles, two folds: each fold's questions are asked of an index without its article and of
    the full index with the answer's paragraph taken out; models are fitted without the fold."""
    from rag.config import Settings
    from rag.training.evaluate import load_xquad, same_file
    from rag.training.folds import Bench
    from rag.training.quality import XQUAD_DIR, select
    from rag.training.train import fit_all, heldout_answers, heldout_report

    items, names = select(load_xquad(XQUAD_DIR), articles=2, limit=10)
    bench = Bench(Settings(), encoders, items, XQUAD_DIR, tmp_path, folds=2)
    assert {bench.fold(it) for it in items} == {0, 1}
    names_ = [e.name for e in encoders]
    fitted = fit_all([bench], names_)
    assert set(fitted.by_fold) == {0, 1}
    answerable, other_articles, other_paragraph = heldout_answers(bench, fitted.by_fold)
    for it, ans, una, off in zip(items, answerable, other_articles, other_paragraph, strict=True):
        gold = str(XQUAD_DIR / it.article)
        # The index of the other fold holds none of the question's article.
        assert not any(same_file(p.source, gold) for p in una.passages)
        # With its paragraph taken out, no passage overlaps the answer.
        assert not any(same_file(p.source, gold) and p.start < it.end and it.start < p.end for p in off.passages)
        for c in ans.citations:
            text = bench.retriever("all").articles[c.article_id].text
            assert text[c.start : c.end] == c.quote
    report = heldout_report(bench, fitted)
    for run in ("hand-set", "learned (held-out)", "learned (in-sample)"):
        for lang in ("en", "de"):
            rates = report[run][lang]
            assert 0.0 <= rates["abstain_on_unanswerable"] <= 1.0
            assert rates["questions"] == 10
