"""Damaged or missing index files: a truncated or altered manifest or lexicon, a lost article text,
the vector store deleted under a running bot, a read-only index folder, a disk that fills up while
indexing. Each is told in one line naming the command that repairs it (exit code 2 from the
command line, a visible message in the page), and neither the source articles nor the last
complete index are lost. Real files, real processes, real mounts (a small tmpfs, a read-only bind
mount) where the machine allows them."""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SEED
from indexkit import BRIDGE, BRIDGE_Q, FERRY, MINE, TRAIN, Remembering, assert_consistent, read_only, small_disk
from indexkit import write_articles as write_news
from streamlit.testing.v1 import AppTest

from rag.cli import main
from rag.config import Settings
from rag.errors import IndexUnavailable
from rag.index import lexicon_file
from rag.index.folder import article_path, read_article_text
from rag.index.manifest import MANIFEST, read_manifest
from rag.index.update import index_paths
from rag.pipeline import Bot

APP = str(ROOT / "app.py")
XQUAD = ROOT / "bench" / "data" / "xquad-dev" / "articles"
SHOIGU_Q = "How many troops did Shoigu claim?"


@pytest.fixture(scope="module")
def enc(encoders: list[Any]) -> list[Any]:
    return [Remembering(e) for e in encoders]


@pytest.fixture(scope="module")
def built(seed_index: Path, tmp_path_factory: pytest.TempPathFactory, enc: list[Any]) -> Path:
    """The seed index plus one article from another folder (so a repair that only re-read seeds/
    would lose it); tests copy it before damaging it."""
    base = tmp_path_factory.mktemp("built")
    shutil.copytree(seed_index, base / "index")
    news = write_news(base / "news", bridge=BRIDGE)
    index_paths(Settings(index_dir=base / "index"), enc, [news])
    return base / "index"


@pytest.fixture(scope="module")
def before(built: Path, enc: list[Any]) -> dict[str, Any]:
    """The answers of the intact index, which every repaired one must give again."""
    bot = Bot(Settings(index_dir=built), encoders=enc)
    return {q: _answer(bot, q) for q in (SHOIGU_Q, BRIDGE_Q)}


@pytest.fixture
def index(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built, tmp_path / "index")
    return tmp_path / "index"


def _answer(bot: Bot, question: str) -> tuple[str, list[tuple[str, int, int, str]]]:
    answer = bot.ask(question)
    assert not answer.abstained, answer.answer
    return answer.answer, [(c.source, c.start, c.end, c.quote) for c in answer.citations]


def _seeds(index: Path) -> Path:
    """The folder the seed article was indexed from (the session fixture keeps it)."""
    return _seed_source(index).parent


def _seed_source(index: Path) -> Path:
    manifest = read_manifest(index)
    return Path(next(m["source"] for m in manifest.articles.values() if m["source"].endswith(SEED.name)))


def _news(index: Path) -> Path:
    manifest = read_manifest(index)
    return Path(next(m["source"] for m in manifest.articles.values() if m["source"].endswith("bridge.txt"))).parent


def _files(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` by relative path, with the hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _rag(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout, check=False
    )


def _one_error(run: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit code 2 and exactly one line on stderr, an ``error:`` saying each of ``needles``."""
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1, run.stderr
    for needle in needles:
        assert needle in run.stderr, (needle, run.stderr)
    return run.stderr


def _status_ok(index: Path) -> None:
    assert main(["status", "--index-dir", str(index)]) == 0


# -- the manifest ----------------------------------------------------------------------------


def _damage_manifest(path: Path, how: str) -> None:
    raw = path.read_bytes()
    if how == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif how == "flipped byte":
        at = raw.index(b'"title"') + 12
        path.write_bytes(raw[:at] + bytes([raw[at] ^ 0x20]) + raw[at + 1 :])
    elif how == "edited":  # still valid JSON: only the checksum tells
        more = re.sub(rb'"chunks": (\d+)', lambda m: b'"chunks": ' + str(int(m[1]) + 1).encode(), raw, count=1)
        path.write_bytes(more)
    else:
        path.write_bytes(b"[1, 2]")


@pytest.mark.parametrize("how", ["truncated", "flipped byte", "edited", "not an object"])
def test_a_damaged_manifest_is_told_and_a_rebuild_recovers_every_article(
    index: Path, enc: list[Any], before: dict[str, Any], capsys: pytest.CaptureFixture[str], how: str
) -> None:
    seeds, news = _seeds(index), _news(index)
    sources = {**_files(seeds), **_files(news)}
    _damage_manifest(index / MANIFEST, how)
    repair = "rebuild it with: python -m rag index --rebuild"
    if how == "truncated":  # as a user meets it: three commands, three processes
        _one_error(_rag("ask", "--index-dir", str(index), SHOIGU_Q), "damaged manifest.json", repair)
        _one_error(_rag("status", "--index-dir", str(index)), "damaged manifest.json", repair)
        _one_error(_rag("index", "--quiet", "--index-dir", str(index), str(seeds)), "damaged manifest.json", repair)
    else:
        assert main(["status", "--index-dir", str(index)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "damaged manifest.json" in err and repair in err, err
    # The repair: only seeds/ is given, yet the article indexed from news/ is kept, read back
    # from the vector store's chunk metadata and the stored texts.
    report = index_paths(Settings(index_dir=index), enc, [seeds], rebuild=True)
    assert any("recovered 2 article(s)" in n for n in report.notes), report.notes
    manifest = assert_consistent(index)
    assert sorted(Path(m["source"]).name for m in manifest.articles.values()) == sorted(
        [*(p.name for p in seeds.iterdir()), "bridge.txt"]
    )
    _status_ok(index)
    bot = Bot(Settings(index_dir=index), encoders=enc)
    assert {q: _answer(bot, q) for q in before} == before
    assert {**_files(seeds), **_files(news)} == sources


# -- the lexicon -----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["truncated", "flipped bytes"])
def test_a_damaged_lexicon_is_told_answers_stay_the_same_and_index_remakes_it(
    index: Path, enc: list[Any], before: dict[str, Any], how: str
) -> None:
    path = index / lexicon_file.FILE
    raw = path.read_bytes()
    if how == "truncated":
        path.write_bytes(raw[: len(raw) * 2 // 3])
    else:  # inside the stored chunk spans: the zip checksums catch it
        at = raw.index(b"spans.npy") + 200
        path.write_bytes(raw[:at] + bytes(b ^ 0xFF for b in raw[at : at + 8]) + raw[at + 8 :])
    run = _rag("ask", "--json", "--index-dir", str(index), SHOIGU_Q)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("\n") == 1 and "lexicon.npz is damaged" in run.stderr, run.stderr
    assert "answers are unchanged" in run.stderr and "make it again with: python -m rag index" in run.stderr
    answer = json.loads(run.stdout)
    assert (answer["answer"], [(c["source"], c["start"], c["end"], c["quote"]) for c in answer["citations"]]) == (
        before[SHOIGU_Q]
    )
    _one_error(_rag("status", "--index-dir", str(index)), "lexicon.npz is damaged", "python -m rag index")
    index_paths(Settings(index_dir=index), enc, [_seeds(index)])  # the repair
    assert lexicon_file.check(index) is None
    _status_ok(index)


# -- a stored article text ---------------------------------------------------------------------


@pytest.mark.parametrize("how", ["missing", "damaged"])
def test_a_lost_article_text_is_told_and_index_takes_it_again_from_its_file(
    index: Path, enc: list[Any], before: dict[str, Any], how: str
) -> None:
    manifest = read_manifest(index)
    seed_id = next(aid for aid, m in manifest.articles.items() if m["source"].endswith(SEED.name))
    text = article_path(index, seed_id)
    if how == "missing":
        text.unlink()
    else:
        text.write_text(text.read_text(encoding="utf-8").replace("40.000", "4.000"), encoding="utf-8")
    # Article texts are read when a question cites them: asked, it fails in one line.
    _one_error(
        _rag("ask", "--index-dir", str(index), SHOIGU_Q),
        f"The stored text of article {seed_id} ",
        how,
        "restore it with: python -m rag index",
    )
    _one_error(
        _rag("status", "--index-dir", str(index)), "is missing or damaged", "restore it with: python -m rag index"
    )
    report = index_paths(Settings(index_dir=index), enc, [_seeds(index)])
    assert any("restored the stored text" in n for n in report.notes), report.notes
    assert_consistent(index)
    _status_ok(index)
    bot = Bot(Settings(index_dir=index), encoders=enc)
    assert {q: _answer(bot, q) for q in before} == before


def test_a_lost_text_whose_file_is_gone_too_leaves_the_index_with_a_note(
    index: Path, tmp_path: Path, enc: list[Any], before: dict[str, Any]
) -> None:
    more = write_news(tmp_path / "more", ferry=FERRY)
    index_paths(Settings(index_dir=index), enc, [more])
    ferry = next(aid for aid, m in read_manifest(index).articles.items() if m["source"].endswith("ferry.txt"))
    article_path(index, ferry).unlink()
    (more / "ferry.txt").unlink()
    report = index_paths(Settings(index_dir=index), enc, [_seeds(index)])
    assert any("removed" in n and "ferry.txt" in n and "index the file again" in n for n in report.notes)
    assert ferry not in assert_consistent(index).articles
    _status_ok(index)
    bot = Bot(Settings(index_dir=index), encoders=enc)
    assert {q: _answer(bot, q) for q in before} == before  # the other articles are as they were


# -- the vector store deleted under a running app ----------------------------------------------


def test_the_vector_store_deleted_under_a_running_bot_is_told_and_index_restores_it(
    index: Path, enc: list[Any], before: dict[str, Any]
) -> None:
    bot = Bot(Settings(index_dir=index), encoders=enc)
    assert _answer(bot, SHOIGU_Q) == before[SHOIGU_Q]
    shutil.rmtree(index / "chroma")
    repair = "make it again from the stored article texts with: python -m rag index"
    with pytest.raises(IndexUnavailable, match="chroma/\\) is missing") as err:
        bot.ask(SHOIGU_Q)
    assert repair in str(err.value) and "\n" not in str(err.value)
    _one_error(_rag("ask", "--index-dir", str(index), SHOIGU_Q), "is missing", repair)
    _one_error(_rag("status", "--index-dir", str(index)), "is missing", repair)
    assert not (index / "chroma").exists()  # a question never makes an empty store in its place
    report = index_paths(Settings(index_dir=index), enc, [_seeds(index)])  # the repair
    assert report.chunks_embedded > 0
    assert_consistent(index)
    assert {q: _answer(bot, q) for q in before} == before  # the same running bot, answering again


def _visible(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", value))


def _page_errors(at: AppTest) -> str:
    return " ".join(_visible(e.value) for e in at.error)


def test_the_page_tells_when_the_vector_store_is_deleted_while_it_runs(index: Path, tmp_path: Path) -> None:
    assert index == tmp_path / "index"  # where RAG_INDEX_DIR points
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.chat_input(key="question").set_value(SHOIGU_Q).run()
    assert not at.exception and "40.000" in _visible(at.chat_message[1].markdown[0].value)
    shutil.rmtree(index / "chroma")
    at.chat_input(key="question").set_value(SHOIGU_Q).run()
    assert not at.exception
    shown = _visible(at.chat_message[3].error[0].value)
    assert "chroma/) is missing" in shown and "python -m rag index" in shown


def test_the_page_warns_of_a_damaged_lexicon_and_still_answers(index: Path) -> None:
    (index / lexicon_file.FILE).write_bytes(b"PK\x03\x04 not a zip")
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception
    warned = " ".join(_visible(w.value) for w in at.sidebar.warning)
    assert "lexicon.npz is damaged" in warned and "python -m rag index" in warned
    at.chat_input(key="question").set_value(SHOIGU_Q).run()
    assert "40.000" in _visible(at.chat_message[1].markdown[0].value)


# -- a read-only index folder ------------------------------------------------------------------


def test_a_read_only_index_is_told_in_one_line_and_left_as_it_was(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writable = tmp_path / "disk"
    shutil.copytree(built, writable / "index")
    files = _files(writable / "index")
    seeds = _seeds(built)
    sources = _files(seeds)
    with read_only(writable, tmp_path / "ro") as mounted:
        index = mounted / "index"
        fix = "make the folder writable, or copy it and give the copy with --index-dir"
        _one_error(_rag("ask", "--index-dir", str(index), SHOIGU_Q), "is read-only", fix)
        _one_error(_rag("status", "--index-dir", str(index)), "is read-only", fix)
        _one_error(
            _rag("index", "--quiet", "--index-dir", str(index), str(seeds)),
            "cannot be written",
            "the index keeps its last complete state",
            "Make the folder writable",
        )
        monkeypatch.setenv("RAG_INDEX_DIR", str(index))
        at = AppTest.from_file(APP, default_timeout=180).run()
        assert not at.exception
        assert "is read-only" in _page_errors(at) and "make the folder writable" in _page_errors(at)
        assert _files(index) == files
    assert _files(writable / "index") == files and _files(seeds) == sources


# -- a full disk -------------------------------------------------------------------------------


KEEPS = "the index keeps its last complete state. Free some space, then run: python -m rag index"


@pytest.mark.parametrize("headroom_kb", [0, 160])
def test_a_disk_too_full_to_index_is_told_and_the_index_answers_as_before(
    built: Path, tmp_path: Path, enc: list[Any], before: dict[str, Any], headroom_kb: int
) -> None:
    """No room at all (0 KB) or clearly not enough for the articles (160 KB): told in one line
    before anything is written, and the index answers as before."""
    news = write_news(tmp_path / "news", ferry=FERRY, mine=MINE, train=TRAIN)
    sources = _files(news)
    with small_disk(tmp_path / "disk", headroom_kb * 1024, contents=built) as (index, filler):
        old = read_manifest(index)
        texts = {aid: read_article_text(index, aid) for aid in old.articles}
        if headroom_kb == 0:  # once as a process: exit code 2 and one line
            _one_error(_rag("index", "--quiet", "--index-dir", str(index), str(news)), "full", KEEPS)
        with pytest.raises(IndexUnavailable, match=re.escape(KEEPS)):
            index_paths(Settings(index_dir=index), enc, [news])
        assert read_manifest(index).articles == old.articles
        assert {aid: read_article_text(index, aid) for aid in old.articles} == texts
        try:  # with no space at all, the vector store cannot even be read: said in one line
            assert {q: _answer(Bot(Settings(index_dir=index), encoders=enc), q) for q in before} == before
        except IndexUnavailable as exc:
            assert headroom_kb == 0 and "is full" in str(exc) and "free some space and ask again" in str(exc)
        filler.unlink()  # space again: the old index answers as before, the next run does the job
        assert {q: _answer(Bot(Settings(index_dir=index), encoders=enc), q) for q in before} == before
        index_paths(Settings(index_dir=index), enc, [news])
        assert len(assert_consistent(index).articles) == len(old.articles) + 3
        _status_ok(index)
    assert _files(news) == sources


def _fill(path: Path) -> None:
    """Write ``path`` until its disk is full."""
    with open(path, "ab") as fh:
        try:
            while True:
                fh.write(b"\0" * (1 << 20))
                fh.flush()
        except OSError:
            pass


def _json_answer(run: subprocess.CompletedProcess[str]) -> tuple[str, list[tuple[str, int, int, str]]]:
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    return got["answer"], [(c["source"], c["start"], c["end"], c["quote"]) for c in got["citations"]]


@pytest.mark.skipif(not XQUAD.is_dir(), reason="needs the XQuAD articles in bench/data/xquad-dev")
def test_a_disk_that_fills_up_in_the_middle_of_an_index_run_keeps_the_last_complete_index(
    built: Path, tmp_path: Path, before: dict[str, Any]
) -> None:
    """The disk fills up while a run writes its articles (after the first is in): the run ends
    with one line and exit code 2; once there is space again, the index answers as before and the
    next run completes it."""
    batch = tmp_path / "batch"
    batch.mkdir()
    for path in sorted(XQUAD.glob("*.txt"))[:6]:  # their first two paragraphs: a few chunks each
        (batch / path.name).write_text("\n\n".join(path.read_text(encoding="utf-8").split("\n\n")[:2]), "utf-8")
    sources = _files(batch)
    with small_disk(tmp_path / "disk", 1 << 30, contents=built) as (index, filler):  # room for all
        listed = len(read_manifest(index).articles)
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag", "index", "--quiet", "--index-dir", str(index), str(batch)],
            cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 180
        while len(read_manifest(index).articles) == listed and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        _fill(filler)  # one article in, the next ones under way
        out, err = proc.communicate(timeout=180)
        assert proc.returncode != 0, "the run finished before the disk filled up"
        _one_error(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), "is full", KEEPS)
        run = _rag("ask", "--json", "--index-dir", str(index), SHOIGU_Q)
        if run.returncode:  # with no space at all, the vector store cannot even be read
            _one_error(run, "is full", "free some space and ask again")
        else:
            assert _json_answer(run) == before[SHOIGU_Q]
        filler.unlink()
        assert _json_answer(_rag("ask", "--json", "--index-dir", str(index), SHOIGU_Q)) == before[SHOIGU_Q]
        assert _rag("index", "--quiet", "--index-dir", str(index), str(batch)).returncode == 0
        assert len(assert_consistent(index).articles) == listed + 6
    assert _files(batch) == sources


def test_the_page_tells_of_a_full_disk_and_keeps_answering(
    built: Path, tmp_path: Path, before: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with small_disk(tmp_path / "disk", 24 * 1024, contents=built) as (index, filler):  # room to read, not to add
        monkeypatch.setenv("RAG_INDEX_DIR", str(index))
        (tmp_path / "seeds").mkdir()
        at = AppTest.from_file(APP, default_timeout=180).run()
        at.text_input(key="paste_title").input("Fähre nach Oslo")
        at.text_area(key="paste_text").input(FERRY)
        at.button(key="paste_add").click().run()
        deadline = time.monotonic() + 120
        while "job" in at.session_state and time.monotonic() < deadline:
            time.sleep(0.3)
            at.run()
        shown = " ".join(_visible(e.value) for e in at.sidebar.error)
        assert "too full for this run" in shown and KEEPS in shown and "The article is saved as" in shown
        assert [p.read_text(encoding="utf-8").count("2.100 Passagiere") for p in (tmp_path / "seeds").iterdir()] == [1]
        at.chat_input(key="question").set_value(SHOIGU_Q).run()
        assert not at.exception
        reply = at.chat_message[1]
        if reply.error:  # the vector store may need some space to be read at all: said in one line
            assert "is full" in _visible(reply.error[0].value) and "free some space" in _visible(reply.error[0].value)
            filler.unlink()
            at.chat_input(key="question").set_value(SHOIGU_Q).run()
            reply = at.chat_message[3]
        assert _visible(reply.markdown[0].value) == before[SHOIGU_Q][0]
