"""The scale benchmark: saved runs are merged size by size, a size measured without the LangChain
default says so instead of failing, and a cold process's answer and peak memory are read (no timing
is asserted: the figures come from the saved run)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

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
