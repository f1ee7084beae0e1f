"""Server mode: the same product against a real Chroma server (`chroma run`), started and stopped here."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED, assert_quotes_verbatim
from indexkit import BRIDGE, BRIDGE_Q, Remembering, write_articles

from bench.scalekit import chroma_server, free_port
from rag.cli import main
from rag.config import Settings
from rag.errors import IndexUnavailable
from rag.index import store
from rag.index.manifest import MANIFEST, read_manifest
from rag.index.update import remove_sources
from rag.pipeline import Bot

SHOIGU = "How many troops did Shoigu claim?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chroma_server(tmp_path_factory.mktemp("chroma") / "data") as (url, _):
        yield url


@pytest.fixture(scope="module")
def enc(encoders: list[Any]) -> list[Any]:
    return [Remembering(e) for e in encoders]


@pytest.fixture(scope="module")
def served(server: str, tmp_path_factory: pytest.TempPathFactory, enc: list[Any]) -> Settings:
    """The seed article indexed through the server; returns the settings that reach it."""
    base = tmp_path_factory.mktemp("served")
    seeds = base / "seeds"
    seeds.mkdir()
    shutil.copy(SEED, seeds / SEED.name)
    settings = Settings(index_dir=base / "index", seeds_dir=seeds, chroma_url=server)
    report = Bot(settings, encoders=enc).index([seeds])
    assert report.added == [str(seeds / SEED.name)] and report.chunks_embedded > 0
    return settings


def test_index_and_ask_through_the_server(served: Settings, enc: list[Any]) -> None:
    assert not (served.index_dir / "chroma").exists()  # the vectors went to the server
    bot = Bot(served, encoders=enc)
    ans = bot.ask(SHOIGU)
    assert not ans.abstained
    assert "40.000" in ans.short_answer
    assert any("40.000 Soldaten und 15.000 Kriegsfahrzeuge" in c.quote for c in ans.citations)
    assert_quotes_verbatim(ans, {aid: a.text for aid, a in bot.retriever.articles.items()})

    again = bot.index([served.seeds_dir])
    assert again.chunks_embedded == 0
    assert again.unchanged == [str(served.seeds_dir / SEED.name)]


def test_incremental_updates_through_the_server(served: Settings, enc: list[Any], tmp_path: Path) -> None:
    def found(bot: Bot) -> str:
        return " ".join(p.text for p in bot.ask(BRIDGE_Q).passages)

    bot = Bot(served, encoders=enc)
    assert "48 Pfeilern" not in found(bot)
    news = write_articles(tmp_path / "news", bridge=BRIDGE)
    report = bot.index([news])
    assert report.added == [str(news / "bridge.txt")]
    ans = bot.ask(BRIDGE_Q)
    assert "48 Pfeilern" in ans.passages[0].text and ans.citations[0].source == str(news / "bridge.txt")

    reader = Bot(served, encoders=enc)  # another process's view: same folder, same server
    assert "48 Pfeilern" in reader.ask(BRIDGE_Q).passages[0].text

    remove_sources(served, [str(news / "bridge.txt")])
    assert "48 Pfeilern" not in found(bot)
    client = store.make_client(served.index_dir, served.chroma_url)
    manifest = read_manifest(served.index_dir)
    assert manifest is not None and set(manifest.articles) == {a for a in bot.retriever.articles}
    expected = sum(a["chunks"] for a in manifest.articles.values())
    assert [client.get_collection(n).count() for n in manifest.collections.values()] == [expected] * 2


def test_cli_status_and_ask_through_the_server(
    served: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAG_CHROMA_URL", str(served.chroma_url))
    monkeypatch.setenv("RAG_INDEX_DIR", str(served.index_dir))
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    manifest = read_manifest(served.index_dir)
    assert manifest is not None
    chunks = sum(a["chunks"] for a in manifest.articles.values())
    assert f"vectors on the Chroma server at {served.chroma_url}: 2 of 2 collection(s), {chunks} and {chunks}" in out
    assert main(["ask", SHOIGU]) == 0
    out = capsys.readouterr().out
    assert "40,000" in out.splitlines()[0]  # an English question: the short answer in English notation
    assert "40.000 Soldaten" in out  # the quote, verbatim


def test_two_indexes_share_one_server_without_touching_each_other(
    served: Settings, enc: list[Any], tmp_path: Path
) -> None:
    other = Settings(index_dir=tmp_path / "other", chroma_url=served.chroma_url)
    news = write_articles(tmp_path / "news", bridge=BRIDGE)
    Bot(other, encoders=enc).index([news])
    Bot(other, encoders=enc).index([news], rebuild=True)  # a writer drops only its own old collections
    assert "48 Pfeilern" in Bot(other, encoders=enc).ask(BRIDGE_Q).passages[0].text
    assert "40.000" in Bot(served, encoders=enc).ask(SHOIGU).short_answer


def test_the_chat_page_indexes_and_answers_through_the_server(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("RAG_CHROMA_URL", server)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SEED, seeds / SEED.name)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    assert (tmp_path / "index" / MANIFEST).is_file() and not (tmp_path / "index" / "chroma").exists()
    at.chat_input[0].set_value(SHOIGU).run()
    assert not at.exception, at.exception
    reply = at.chat_message[1].markdown[0].value
    assert "40.000" in reply


def test_a_read_only_page_writes_nothing_to_the_index_folder(
    served: Settings, enc: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    for name, value in [
        ("RAG_CHROMA_URL", served.chroma_url),
        ("RAG_INDEX_DIR", str(served.index_dir)),
        ("RAG_SEEDS_DIR", str(served.seeds_dir)),
        ("RAG_READ_ONLY", "true"),
    ]:
        monkeypatch.setenv(name, str(value))

    def files() -> dict[str, bytes]:
        folders = (served.index_dir, served.seeds_dir)
        return {str(p): p.read_bytes() for d in folders for p in sorted(d.rglob("*")) if p.is_file()}

    client = store.make_client(served.index_dir, served.chroma_url)
    rows = {c.name: c.count() for c in client.list_collections()}
    before = files()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    assert not {w.key for w in at.button} & {"upload_add", "paste_add", "web_add"}
    at.chat_input[0].set_value(SHOIGU).run()
    assert "40.000" in at.chat_message[1].markdown[0].value
    assert files() == before  # not a byte changed in the index folder or the articles folder
    assert {c.name: c.count() for c in client.list_collections()} == rows


def _assert_quick_one_line_error(call: Any, url: str, words: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(IndexUnavailable) as err:
        call()
    assert time.monotonic() - t0 < 15
    message = str(err.value)
    assert url in message and words in message and "\n" not in message


def test_a_closed_port_gives_a_quick_error_naming_the_url(
    served: Settings, enc: list[Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    down = served.model_copy(update={"chroma_url": url})
    _assert_quick_one_line_error(lambda: Bot(down, encoders=enc).ask(SHOIGU), url, "Cannot reach the Chroma server")
    monkeypatch.setenv("RAG_CHROMA_URL", url)
    monkeypatch.setenv("RAG_INDEX_DIR", str(served.index_dir))
    assert main(["status"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: Cannot reach the Chroma server at " + url) and "\n" not in err


def test_a_server_that_never_answers_gives_an_error_not_a_hang(served: Settings, enc: list[Any]) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) and never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        hung = served.model_copy(update={"chroma_url": url})
        _assert_quick_one_line_error(lambda: Bot(hung, encoders=enc).ask(SHOIGU), url, "did not answer")


def test_something_else_on_the_port_is_named_as_not_chroma(served: Settings, enc: list[Any]) -> None:
    import http.server

    httpd = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)  # answers 501
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        other = served.model_copy(update={"chroma_url": url})
        _assert_quick_one_line_error(lambda: Bot(other, encoders=enc).ask(SHOIGU), url, "is not a Chroma")
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_server_lost_mid_session_gives_an_error_naming_it_and_recovers(tmp_path: Path, enc: list[Any]) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SEED, seeds / SEED.name)
    with chroma_server(tmp_path / "data") as (url, proc):
        settings = Settings(index_dir=tmp_path / "index", chroma_url=url)
        bot = Bot(settings, encoders=enc)
        bot.index([seeds])
        assert "40.000" in bot.ask(SHOIGU).short_answer
        proc.terminate()
        proc.wait(timeout=15)
        _assert_quick_one_line_error(lambda: bot.ask(SHOIGU), url, "Lost the connection to the Chroma server")
    port = int(url.rsplit(":", 1)[1])
    with chroma_server(tmp_path / "data", port):  # the same server back: the same bot answers again
        assert "40.000" in bot.ask(SHOIGU).short_answer
