"""The scale benchmark: saved runs are merged size by size, a size measured without the LangChain
default says so instead of failing, and a cold process's answer and peak memory are read (no timing
is asserted: the figures come from the saved run). The load benchmark drives the real chat page in
a browser and reads back what a single user gets."""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.scale import main

SAVED = Path(__file__).resolve().parents[1] / "bench" / "results" / "scale.json"


def test_saved_runs_are_merged_and_a_size_without_the_peer_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = json.loads(SAVED.read_text(encoding="utf-8"))
    big = copy.deepcopy(run)
    row = copy.deepcopy(next(r for r in run["sizes"] if "langchain" in r))
    row["target"] = "200000"
    del row["langchain"], row["cold"]["langchain"]
    big["sizes"], big["command"] = [row], "python -m bench.scale --sizes 200000 --no-peer-at 200000"
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(run), encoding="utf-8")
    second.write_text(json.dumps(big), encoding="utf-8")

    assert main(["--from", str(first), str(second), "--plot", str(tmp_path / "p.png")]) == 0
    printed = capsys.readouterr().out
    lines = [line for line in printed.splitlines() if line.startswith("| 200000 |")]
    assert len(lines) == 3  # one row in each table
    assert "not measured" in lines[1] and "not measured" in lines[2]
    assert all(f"| {r['target']} |" in printed for r in run["sizes"])
    assert "--no-peer-at 200000" in printed  # each run's command is named
    assert (tmp_path / "p.png").stat().st_size > 10_000


def test_a_cold_ask_reports_its_answer_and_peak_memory(seed_index: Path, seed_bot) -> None:  # type: ignore[no-untyped-def]
    """`rag ask` leaves through os._exit once the answer is printed; its peak memory is still read."""
    from bench.scalekit import COLD_QUESTION, child_env, cold, module_cmd

    got = cold(module_cmd("rag", "ask", COLD_QUESTION), child_env(RAG_INDEX_DIR=str(seed_index)), 1)
    # The cold process prints the answer the same bot gives in this process ("etwa 100.000 Soldaten [1]").
    expected = seed_bot.ask(COLD_QUESTION).answer.splitlines()[0]
    assert "Soldaten" in expected
    assert got["first_line"] == expected
    assert 100 < got["peak_rss_mib"] < 1024


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs the system Chromium: run `make browser`")
def test_the_load_benchmark_reads_what_a_single_user_gets(
    seed_index: Path, seed_bot: Any, model_cache: Path, tmp_path: Path
) -> None:
    """One browser session asks two questions in turn on the real page (`streamlit run app.py`): each
    is timed from Enter to the complete answer, and the answer and quotes shown are Bot.ask's. A
    session on the page's websocket protocol reads the same."""
    from bench.load import Load, differs, level, one_run, single_user
    from bench.loadkit import plans, question_pool, streamlit_server

    shutil.copytree(seed_index, tmp_path / "index")
    (tmp_path / "seeds").mkdir()
    sessions = plans(1, 2)
    refs = single_user(seed_bot, sessions)
    with streamlit_server(
        tmp_path / "index", tmp_path / "seeds", tmp_path / "server.log", RAG_CACHE_DIR=str(model_cache)
    ) as (url, _):
        run = asyncio.run(one_run(url, [1], Load(per_session=2), refs, None))
        socket, _ = asyncio.run(level(None, url, sessions, Load(client="socket")))

    (row,) = run["levels"]
    assert (row["answers"], row["errors"], row["sessions"]) == (2, 0, 1)
    assert row["equal_to_single_user"] == 2, row["differences"]
    first, second = row["_asked"]
    expected = refs[(sessions[0][0], ())]
    assert "40.000" in first.answer and first.answer.split() == expected.answer.split()
    assert first.quotes and first.quotes[0] == expected.citations[0].quote
    assert second.history == [sessions[0][0]]
    assert all(0 < a.seconds < 60 for a in (first, second))
    other = seed_bot.ask(next(q for q in question_pool() if "Biden propose to meet" in q))  # a place
    assert differs(first, other) is not None
    for shown, seen in zip(socket, (first, second), strict=True):
        assert differs(shown, refs[(shown.question, tuple(shown.history))]) is None
        assert (shown.answer.split(), shown.quotes) == (seen.answer.split(), seen.quotes)


def test_crossweight_scores_each_fold_at_the_weight_fitted_on_the_other_folds() -> None:
    from bench.crossweight import fit

    folds = [0, 0, 1, 1, 1]
    grid: dict[float, list[int | None]] = {0.0: [1, 1, 2, 2, None], 0.5: [2, 2, 1, 1, 1]}
    got = fit(grid, folds, 2)
    # fold 0 is scored at the weight its questions did not choose (0.5, best on fold 1), and back
    assert [f["weight"] for f in got["folds"]] == [0.5, 0.0]
    assert got["heldout"] == {"questions": 5, "recall_at_1": 0.0, "recall_at_5": 0.8}
    assert got["in_sample"] == {"weight": 0.5, "questions": 5, "recall_at_1": 0.6, "recall_at_5": 1.0}
    assert got["default"] == 0.25


def test_ceiling_reports_how_often_an_answerable_question_outscores_an_unanswerable_one() -> None:
    from bench.ceiling import auc, rank_shares

    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    # one tie (counted half), one loss, two wins of four pairs
    assert auc([0.5, 0.7], [0.5, 0.6]) == 0.625
    # gold sentence first, second, not a candidate, third, sixth
    assert rank_shares([0, 1, None, 2, 5]) == {
        "gold_candidate": 0.8,
        "gold_first": 0.2,
        "gold_top2": 0.4,
        "gold_top3": 0.6,
    }


def test_ceiling_reads_the_unanswerable_questions_declined_within_the_answerable_budget() -> None:
    from bench.ceiling import declined_within

    answerable = [0.1 * k for k in range(1, 11)]  # 0.1 .. 1.0: a budget of 20% declines below 0.3
    assert declined_within(answerable, [0.05, 0.25, 0.35, 0.9], budget=0.2) == 0.5
    assert declined_within(answerable, [0.05, 0.25], budget=0.0) == 0.5  # below the lowest answerable only
