"""Index lifecycle in one process with the real models and a real Chroma store: incremental and
exact updates, duplicates, renames, removal, a new model or chunking built beside the old index."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED
from indexkit import (
    BRIDGE,
    BRIDGE_Q,
    FERRY,
    FERRY_Q,
    MINE,
    MINE_Q,
    Remembering,
    assert_consistent,
    collection_counts,
    snapshot,
    write_articles,
)

from rag.cli import main
from rag.config import Settings
from rag.errors import IndexUnavailable, InputError
from rag.index import store
from rag.index.folder import read_article_text
from rag.index.manifest import read_manifest
from rag.index.update import index_paths, remove_sources
from rag.pipeline import Bot


@pytest.fixture(scope="module")
def enc(encoders: list[Any]) -> list[Any]:
    return [Remembering(e) for e in encoders]


def _settings(index_dir: Path, **kw: Any) -> Settings:
    return Settings(index_dir=index_dir, **kw)


def _passages(bot: Bot, question: str) -> list[Any]:
    """What retrieval finds (the answer step on top is tested elsewhere)."""
    return bot.retriever.search(question)[0]


def _top(bot: Bot, question: str) -> Any:
    return _passages(bot, question)[0]


@pytest.fixture
def two(tmp_path: Path, enc: list[Any]) -> tuple[Path, Path]:
    """A fresh index of two small articles in a folder; returns (index dir, folder)."""
    folder = write_articles(tmp_path / "news", bridge=BRIDGE, ferry=FERRY)
    index_paths(_settings(tmp_path / "index"), enc, [folder])
    return tmp_path / "index", folder


def test_second_run_on_unchanged_input_embeds_nothing_and_is_fast(
    seed_index: Path, tmp_path: Path, encoders: list[Any]
) -> None:
    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    before = snapshot(index)
    report = index_paths(_settings(index), encoders, [seed_index.parent / "seeds"])
    assert report.chunks_embedded == 0
    assert report.unchanged == [str(seed_index.parent / "seeds" / SEED.name)]
    assert not report.added and not report.replaced and not report.removed
    assert report.seconds < 1.0, report.seconds
    assert snapshot(index) == before  # not even the manifest is rewritten


def test_editing_an_article_reembeds_only_its_changed_chunks(two: tuple[Path, Path], enc: list[Any]) -> None:
    index, folder = two
    old_id = next(aid for aid, m in read_manifest(index).articles.items() if m["source"].endswith("bridge.txt"))
    (folder / "bridge.txt").write_text(BRIDGE.replace("48 Pfeilern", "52 Pfeilern"), encoding="utf-8")
    report = index_paths(_settings(index), enc, [folder])
    assert report.replaced == [str(folder / "bridge.txt")] and report.unchanged == [str(folder / "ferry.txt")]
    total = read_manifest(index).articles
    bridge_chunks = next(m["chunks"] for m in total.values() if m["source"].endswith("bridge.txt"))
    assert 0 < report.chunks_embedded < bridge_chunks  # the unchanged paragraph kept its vectors
    manifest = assert_consistent(index)  # the old version's chunks are gone
    assert old_id not in manifest.articles
    bot = Bot(_settings(index), encoders=enc)
    found = _passages(bot, BRIDGE_Q)
    assert "52 Pfeilern" in found[0].text
    assert not any("48 Pfeilern" in p.text for p in found)


def test_deleted_articles_are_pruned_or_removed_on_request(two: tuple[Path, Path], enc: list[Any]) -> None:
    index, folder = two
    (folder / "ferry.txt").unlink()
    kept = index_paths(_settings(index), enc, [folder])
    assert kept.removed == [] and len(read_manifest(index).articles) == 2  # only --prune deletes
    report = index_paths(_settings(index), enc, [folder], prune=True)
    assert report.removed == [str(folder / "ferry.txt")]
    manifest = assert_consistent(index)
    assert [m["source"] for m in manifest.articles.values()] == [str(folder / "bridge.txt")]
    bot = Bot(_settings(index), encoders=enc)
    assert all(not p.source.endswith("ferry.txt") for p in _passages(bot, FERRY_Q))

    with pytest.raises(InputError, match=r"ferry.txt is not in the index; python -m rag status lists"):
        remove_sources(_settings(index), [str(folder / "ferry.txt")])
    gone = remove_sources(_settings(index), [str(folder)])
    assert gone.removed == [str(folder / "bridge.txt")] and gone.chunks_total == 0
    assert assert_consistent(index).articles == {}


def test_cli_remove_drops_one_article(two: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    index, folder = two
    assert main(["remove", "--index-dir", str(index), str(folder / "bridge.txt")]) == 0
    assert "Removed 1 article(s)" in capsys.readouterr().out
    assert [m["source"] for m in assert_consistent(index).articles.values()] == [str(folder / "ferry.txt")]
    assert main(["remove", "--index-dir", str(index), str(folder / "bridge.txt")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_same_text_under_two_names_is_indexed_once(tmp_path: Path, enc: list[Any]) -> None:
    folder = write_articles(tmp_path / "news", a=MINE, b=MINE)
    report = index_paths(_settings(tmp_path / "index"), enc, [folder])
    assert report.added == [str(folder / "a.txt")]
    assert report.duplicates == [(str(folder / "b.txt"), str(folder / "a.txt"))]
    assert len(assert_consistent(tmp_path / "index").articles) == 1


def test_a_renamed_file_keeps_its_vectors_under_the_new_name(two: tuple[Path, Path], enc: list[Any]) -> None:
    index, folder = two
    (folder / "ferry.txt").rename(folder / "faehre.txt")
    report = index_paths(_settings(index), enc, [folder], prune=True)
    assert report.renamed == [(str(folder / "faehre.txt"), str(folder / "ferry.txt"))]
    assert report.chunks_embedded == 0 and report.removed == []
    assert_consistent(index)
    assert _top(Bot(_settings(index), encoders=enc), FERRY_Q).source == str(folder / "faehre.txt")


def test_a_file_named_on_the_command_line_that_is_already_indexed_exits_non_zero(
    two: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index, folder = two
    copy = tmp_path / "kopie.txt"
    copy.write_text(BRIDGE, encoding="utf-8")
    before = snapshot(index)
    assert main(["index", "--quiet", "--index-dir", str(index), str(copy)]) == 2
    err = capsys.readouterr().err
    assert f"error: {copy} has the same text as {folder / 'bridge.txt'}, which is indexed" in err
    assert snapshot(index) == before


class _Crashing:
    """Stands in for a crash in the middle of a build (a real ``kill -9`` is in test_lifecycle):
    the wrapped encoder embeds one batch, then raises."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.dim, self.calls = inner, inner.name, inner.dim, 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("simulated crash")
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def test_new_chunking_builds_new_collections_while_the_old_index_serves(
    two: tuple[Path, Path], enc: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    index, folder = two
    old = read_manifest(index)
    old_bot = Bot(_settings(index), encoders=enc)
    assert "48 Pfeilern" in _top(old_bot, BRIDGE_Q).text
    write_articles(folder, mine=MINE)
    smaller = {"chunk": {"max_chars": 200}}

    with pytest.raises(RuntimeError, match="simulated crash"):
        index_paths(_settings(index, **smaller), [_Crashing(e) for e in enc], [folder])
    assert read_manifest(index).to_json() == old.to_json()  # readers still see the old index
    assert "48 Pfeilern" in _top(old_bot, BRIDGE_Q).text
    assert main(["status", "--index-dir", str(index)]) == 0
    assert "unfinished build" in capsys.readouterr().out

    report = index_paths(_settings(index, **smaller), enc, [folder])  # resumes and finishes
    assert report.rebuilt and sorted(report.added) == [str(folder / "mine.txt")]
    new = assert_consistent(index)
    assert new.fingerprint != old.fingerprint
    assert set(collection_counts(index)) == set(new.collections.values())  # the old ones are dropped
    new_bot = Bot(_settings(index, **smaller), encoders=enc)
    assert "90 Tonnen Silber" in _top(new_bot, MINE_Q).text
    assert "48 Pfeilern" in _top(new_bot, BRIDGE_Q).text
    with pytest.raises(IndexUnavailable, match="rebuild"):
        _top(old_bot, BRIDGE_Q)  # the old settings no longer match: said plainly


def test_missing_chunks_are_restored_on_the_next_run(two: tuple[Path, Path], enc: list[Any]) -> None:
    index, folder = two
    manifest = read_manifest(index)
    ferry = next(aid for aid, m in manifest.articles.items() if m["source"].endswith("ferry.txt"))
    store.reset_client_cache()
    client = store.make_client(index, None)
    client.get_collection(manifest.collections["dense"]).delete(where={"article_id": ferry})
    report = index_paths(_settings(index), enc, [folder])
    assert report.chunks_embedded > 0
    assert_consistent(index)
    assert _top(Bot(_settings(index), encoders=enc), FERRY_Q).source.endswith("ferry.txt")


def test_a_web_article_is_indexed_and_a_bad_address_leaves_the_index_untouched(
    two: tuple[Path, Path], enc: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexkit import web_server

    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    index, _ = two
    page = f"<html><head><title>Silbermine</title></head><body><article><p>{MINE}</p></article></body></html>"
    with web_server({"/mine": ("text/html; charset=utf-8", page.encode(), 0.0)}) as url:
        before = snapshot(index)
        for bad in (f"{url}/fehlt", "ftp://127.0.0.1/mine"):
            with pytest.raises(InputError):
                index_paths(_settings(index), enc, [bad], any_address=True)
            assert snapshot(index) == before
        with pytest.raises(InputError, match="is not fetched: 127.0.0.1 is a loopback address"):
            index_paths(_settings(index), enc, [f"{url}/mine"])  # by default only public addresses
        assert snapshot(index) == before
        report = index_paths(_settings(index), enc, [f"{url}/mine"], any_address=True)
    assert report.added == [f"{url}/mine"]
    assert report.notes and "citations refer to the text stored in the index" in report.notes[0]
    hit = _top(Bot(_settings(index), encoders=enc), MINE_Q)
    assert hit.source == f"{url}/mine" and "90 Tonnen Silber" in hit.text
    stored = read_article_text(index, hit.article_id)
    assert stored[hit.start : hit.end] == hit.text  # offsets refer to the stored, extracted text
