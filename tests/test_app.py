"""The chat page through Streamlit's AppTest: real models, a real copy of the seed index."""

from __future__ import annotations

import html
import re
import shutil
import time
from pathlib import Path

import pytest
from indexkit import recording_server, snapshot, web_server
from streamlit.testing.v1 import AppTest

from rag import cli

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SHOIGU = "How many troops did Shoigu claim?"
BRIDGE_TITLE = "Brückenfest an der Wipper"
BRIDGE_TEXT = (
    "In Falkenhain wurde am Samstag die neue Wipperbrücke für den Verkehr freigegeben. "
    "Zur Eröffnung der Brücke kamen 3.200 Besucher aus der ganzen Region. "
    "Bürgermeisterin Karla Sende sprach von einem großen Tag für den Ort."
)
HOSTILE = (
    "# Laternen <em>für</em> Quellbach ![t](http://evil/t.png)\n\n"
    "Der Stadtrat von Quellbach beschloss am Montag 17 neue Laternen <script>alert(1)</script> für den Marktplatz.\n\n"
    "Ein Foto <img src=x onerror=alert(1)> zeigte den Platz am Abend. ![x](http://evil/x.png) "
    "Die Kosten liegen bei 5000 Euro.\n"
)
RAW_MARKUP = ("<script", "<img", "<em>", "![x](", "![t](", "](http")


@pytest.fixture
def app(seed_index: Path, tmp_path: Path) -> AppTest:
    """The page on a copy of the seed index (RAG_INDEX_DIR/RAG_SEEDS_DIR point into tmp_path)."""
    shutil.copytree(seed_index, tmp_path / "index")
    (tmp_path / "seeds").mkdir()
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.value for e in elements]


def every_text(at: AppTest) -> list[str]:
    """The raw value of every element that renders Markdown or HTML, sidebar included."""
    kinds = ("markdown", "caption", "error", "warning", "info", "success", "title", "header")
    return [v for kind in kinds for v in texts(at.get(kind)) if isinstance(v, str)]


def visible(value: str) -> str:
    """What a reader sees of an element's Markdown/HTML: tags dropped, character references decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", value))


def page(at: AppTest) -> str:
    return "\n".join(visible(v) for v in every_text(at))


def marked(at: AppTest) -> list[str]:
    """The highlighted (``<mark>``) quotes on the page, as the reader sees them."""
    return [visible(m) for v in every_text(at) for m in re.findall(r"<mark[^>]*>(.*?)</mark>", v)]


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input(key="question").set_value(question).run()
    assert not at.exception, at.exception
    return at


def wait_for_notice(at: AppTest, seconds: float = 120) -> str:
    """Rerun the page (as the browser's polling does) until the background indexing reports back."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, at.exception
        done = texts(at.sidebar.success) + texts(at.sidebar.info) + texts(at.sidebar.error)
        if done and "job" not in at.session_state:
            return visible(done[-1])
        time.sleep(0.3)
    raise AssertionError("indexing did not finish")


def test_question_gets_an_answer_with_highlighted_citation(app: AppTest) -> None:
    ask(app, SHOIGU)
    user, bot = app.chat_message[0], app.chat_message[1]
    assert visible(user.markdown[0].value) == SHOIGU
    answer = visible(bot.markdown[0].value)
    assert "40.000" in answer and "[1]" in answer
    assert any("40.000 Soldaten und 15.000 Kriegsfahrzeuge" in q for q in marked(app))
    citation = visible(bot.markdown[1].value)
    # numbered, with the article's title, then its date; the two quotes of one passage in one block
    assert citation.startswith("[1] [2] Moskau muss") and "(file time)" in citation
    assert len(re.findall(r"<mark", bot.markdown[1].value)) == 2
    assert len([m for m in bot.markdown if "rag-cite" in m.value]) == 1
    # the short answer (as the article has it; the line above writes numbers in English) in bold in its quote
    bold = re.findall(r"<strong>(.*?)</strong>", bot.markdown[1].value)
    assert len(bold) == 1 and visible(bold[0]).startswith("40.000 Soldaten")
    assert any(visible(bold[0]) in q and visible(bold[0]) != q for q in marked(app))
    # the article view holds the whole article with the quote highlighted in place
    view = bot.expander[0]
    assert "Open the article at quote [1]" in view.label
    whole = view.markdown[0].value
    assert "<mark" in whole and "Treffen wir uns in einem Drittland" in visible(whole)
    # the conversation survives reruns with its citations
    app.run()
    assert any("40.000 Soldaten und 15.000 Kriegsfahrzeuge" in q for q in marked(app))


def test_follow_up_is_searched_with_the_previous_question(app: AppTest) -> None:
    ask(app, SHOIGU)
    ask(app, "And how many vehicles?")
    assert len(app.chat_message) == 4
    reply = app.chat_message[3]
    assert visible(reply.caption[0].value) == f"Searched: {SHOIGU} And how many vehicles?"
    assert visible(reply.markdown[0].value).strip()
    assert "15.000 Kriegsfahrzeuge" in "\n".join(visible(m.value) for m in reply.markdown)


def test_a_self_contained_question_after_a_follow_up_is_searched_as_asked(app: AppTest) -> None:
    ask(app, SHOIGU)
    ask(app, "And vehicles?")
    ask(app, "Who is Jens Stoltenberg?")
    ask(app, "What did he demand from Russia?")
    replies = [app.chat_message[i] for i in (3, 5, 7)]
    assert visible(replies[0].caption[0].value) == f"Searched: {SHOIGU} And vehicles?"
    stoltenberg = visible(replies[1].markdown[0].value)  # the answer, before its citations
    assert not replies[1].caption  # searched as asked: no 'Searched:' line
    lead = stoltenberg.strip().splitlines()[0]  # the direct answer, before the quotes
    assert "Generalsekretär" in lead and "Kuleba" not in lead
    assert visible(replies[2].caption[0].value) == "Searched: Who is Jens Stoltenberg? What did he demand from Russia?"
    assert "Provokationen stoppen" in visible(replies[2].markdown[0].value)


def test_an_answer_without_the_kind_asked_for_says_so_on_the_page(app: AppTest) -> None:
    ask(app, "When did Biden phone Putin?")  # the evidence names no date
    reply = visible(app.chat_message[1].markdown[0].value).strip()
    assert reply.startswith("The articles name no date for this directly; the passage closest to the question:")
    assert marked(app)  # the closest passage is still quoted and highlighted


def test_a_question_that_asks_two_things_gets_both_answers_with_their_quotes(app: AppTest) -> None:
    ask(app, "How many soldiers is the US sending to Germany, and how many Ukrainian soldiers died in 2021?")
    reply = app.chat_message[1]
    answer = visible(reply.markdown[0].value)
    # the German nouns of an English asker's short answers glossed in English
    assert "How many soldiers is the US sending to Germany? 400 Soldaten (soldiers) [1]" in answer
    assert "How many Ukrainian soldiers died in 2021? 29 ukrainische Soldaten (soldiers) [2]" in answer
    cited = [visible(m.value) for m in reply.markdown if "rag-cite" in m.value]
    assert [c[:3] for c in cited] == ["[1]", "[2]"]
    quotes = marked(app)
    assert "Die USA schicken weitere 400 Soldaten nach Deutschland." in quotes
    assert any("29 ukrainische Soldaten" in q for q in quotes)


def test_welcome_lists_articles_and_example_question_answers(app: AppTest) -> None:
    welcome = page(app)
    assert "Moskau muss" in welcome  # the indexed article's title
    assert "1 article, 13 chunks" in visible(app.sidebar.markdown[0].value)
    app.button(key="example_1").click().run()
    assert visible(app.chat_message[0].markdown[0].value) == "Wie viele ukrainische Soldaten starben 2021?"
    assert "29" in visible(app.chat_message[1].markdown[0].value)
    assert any("29 ukrainische Soldaten" in q for q in marked(app))
    assert not app.main.button  # the welcome block and its examples are gone once the chat started


def test_empty_and_whitespace_questions_get_a_message(app: AppTest) -> None:
    for question in ("", "   \n "):
        ask(app, question)
        assert "question is empty" in " ".join(texts(app.warning))
        assert len(app.chat_message) == 0


def test_pasted_article_is_indexed_and_answered(app: AppTest, tmp_path: Path) -> None:
    app.text_input(key="paste_title").input(BRIDGE_TITLE)
    app.text_area(key="paste_text").input(BRIDGE_TEXT)
    app.button(key="paste_add").click().run()
    assert f"Added “{BRIDGE_TITLE}”" in wait_for_notice(app)
    status = visible(app.sidebar.markdown[0].value)
    assert "2 articles" in status and BRIDGE_TITLE in status
    saved = list((tmp_path / "seeds").iterdir())
    assert [p.suffix for p in saved] == [".txt"] and re.fullmatch(r"[a-z0-9-]+_[0-9a-f]{10}\.txt", saved[0].name)
    assert app.text_area(key="paste_text").value == ""  # cleared once it was added
    ask(app, "Wie viele Besucher kamen zur Eröffnung der Brücke in Falkenhain?")
    assert "3.200" in visible(app.chat_message[1].markdown[0].value)
    assert any("3.200 Besucher" in q for q in marked(app))


def test_article_from_a_web_address_is_fetched_kept_and_answered(
    app: AppTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_FETCH_ALLOW", "127.0.0.1")  # the page fetches only public addresses otherwise
    page_html = (
        f"<html><head><meta charset='utf-8'><title>{BRIDGE_TITLE} – Kreisblatt</title></head><body>"
        f"<nav>Start | Politik</nav><article><h1>{BRIDGE_TITLE}</h1><p>{BRIDGE_TEXT}</p></article></body></html>"
    ).encode()
    with web_server({"/wipper": ("text/html", page_html, 0.0)}) as server:
        for address, message in [
            ("", "Type the address"),
            ("ftp://127.0.0.1/wipper", "only http:// and https://"),
            (f"{server}/fehlt", "404"),
        ]:
            app.text_input(key="web_address").input(address)
            app.button(key="web_add").click().run()
            assert not app.exception, app.exception
            assert message in " ".join(visible(v) for v in texts(app.sidebar.error)), address
            assert not list((tmp_path / "seeds").iterdir())
        app.text_input(key="web_address").input(f"{server}/wipper")
        app.button(key="web_add").click().run()
        assert f"Added “{BRIDGE_TITLE}”" in wait_for_notice(app)
    # Kept as text in the seeds folder, with the address it came from: indexable again offline.
    [saved] = list((tmp_path / "seeds").iterdir())
    kept = saved.read_text(encoding="utf-8")
    assert kept.startswith(BRIDGE_TITLE) and "3.200 Besucher" in kept and kept.rstrip().endswith("/wipper")
    assert "Politik" not in kept  # the page's navigation is not part of the article
    ask(app, "How many visitors came to the opening of the bridge in Falkenhain?")
    assert "3.200" in visible(app.chat_message[1].markdown[0].value)


def test_a_local_web_address_is_refused_in_one_line_and_nothing_is_added(app: AppTest, tmp_path: Path) -> None:
    before = snapshot(tmp_path / "index")
    with recording_server("127.0.0.1", pages={"/admin": b"<html><body><p>Geheime Seite.</p></body></html>"}) as local:
        for host in ("127.1", "[::ffff:127.0.0.1]", "localhost", "169.254.169.254"):
            address = f"http://{host}:{local.port}/admin"
            app.text_input(key="web_address").input(address)
            app.button(key="web_add").click().run()
            assert not app.exception, app.exception
            [error] = [visible(v) for v in texts(app.sidebar.error)]
            assert error.startswith(f"{address} is not fetched: ") and "\n" not in error
            assert "Only public web addresses can be added here" in error
            assert "job" not in app.session_state
    assert not local.seen  # the page sent nothing to the local server
    assert not (tmp_path / "seeds").exists() or not list((tmp_path / "seeds").iterdir())
    assert snapshot(tmp_path / "index") == before
    assert "1 article" in visible(app.sidebar.markdown[0].value)


def test_bad_input_shows_messages_and_loses_nothing(app: AppTest, tmp_path: Path) -> None:
    app.text_input(key="paste_title").input("Ohne Text")
    app.button(key="paste_add").click().run()
    assert "text is empty" in " ".join(texts(app.sidebar.error))
    assert app.text_input(key="paste_title").value == "Ohne Text"  # what was typed stays
    for name, data, message in [
        ("leer.txt", b"  \n", "is empty"),
        ("bild.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "binary"),
    ]:
        app.file_uploader(key="upload").set_value((name, data, "text/plain"))
        app.button(key="upload_add").click().run()
        assert not app.exception
        assert message in " ".join(visible(v) for v in texts(app.sidebar.error)), name
    assert not list((tmp_path / "seeds").iterdir())
    ask(app, SHOIGU)  # the chat still works
    assert "40.000" in visible(app.chat_message[1].markdown[0].value)


def test_too_large_file_is_refused(seed_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(seed_index, tmp_path / "index")
    monkeypatch.setenv("RAG_MAX_FILE_BYTES", "1000")
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.file_uploader(key="upload").set_value(("lang.txt", ("Ein Satz. " * 200).encode(), "text/plain"))
    at.button(key="upload_add").click().run()
    assert "over the limit of 1,000" in " ".join(visible(v) for v in texts(at.sidebar.error))
    assert not (tmp_path / "seeds").exists() or not list((tmp_path / "seeds").iterdir())


def test_hostile_article_text_is_shown_as_text(app: AppTest, tmp_path: Path) -> None:
    app.file_uploader(key="upload").set_value(("../../Laternen für Quellbach?.md", HOSTILE.encode(), "text/markdown"))
    app.button(key="upload_add").click().run()
    assert "Added" in wait_for_notice(app)
    (saved,) = (tmp_path / "seeds").iterdir()
    assert re.fullmatch(r"laternen-fur-quellbach_[0-9a-f]{10}\.md", saved.name)
    ask(app, "Wie viele neue Laternen beschloss der Stadtrat von Quellbach?")
    assert "17" in visible(app.chat_message[1].markdown[0].value)
    app.run()  # and again when the history is re-rendered
    for value in every_text(app):
        for raw in RAW_MARKUP:
            assert raw not in value, (raw, value[:300])
    shown = page(app)
    # the markup is displayed as the article's text, not dropped
    assert "17 neue Laternen <script>alert(1)</script> für den Marktplatz" in shown
    assert "<img src=x onerror=alert(1)>" in shown and "![x](http://evil/x.png)" in shown
    assert "Laternen <em>für</em> Quellbach ![t](http://evil/t.png)" in visible(app.sidebar.markdown[0].value)


def test_abstention_is_said_plainly_with_nearest_passages_labelled(app: AppTest) -> None:
    ask(app, "What is the capital of France?")
    reply = app.chat_message[1]
    assert "don't say" in visible(reply.markdown[0].value)
    assert not marked(app)  # nothing is presented as a quote that answers
    (nearest,) = reply.expander
    assert "not an answer" in nearest.label
    assert len(nearest.markdown) >= 2 and "Moskau muss" in visible(nearest.markdown[0].value)


def test_damaged_index_is_reported_without_traceback(seed_index: Path, tmp_path: Path) -> None:
    shutil.copytree(seed_index, tmp_path / "index")
    (tmp_path / "index" / "manifest.json").write_text("{not json", encoding="utf-8")
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception
    assert "damaged manifest.json" in visible(at.error[0].value)
    ask(at, SHOIGU)
    assert "damaged manifest.json" in visible(at.chat_message[1].error[0].value)


ADD_WIDGETS = {"upload", "upload_add", "paste_title", "paste_text", "paste_add", "web_address", "web_add"}


def _keys(at: AppTest) -> set[str]:
    kinds = ("text_input", "text_area", "button", "file_uploader")
    return {w.key for kind in kinds for w in at.get(kind) if getattr(w, "key", None)}


def _own_files(folder: Path) -> dict[str, bytes]:
    """The index's own files; the embedded Chroma store inside it is compared by its rows (``snapshot``):
    Chroma rewrites some of its bookkeeping files whenever any reader opens it (``rag ask`` too)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "chroma" not in p.relative_to(folder).parts)
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


def test_read_only_page_lists_the_articles_answers_and_has_no_add_controls(
    seed_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(seed_index, tmp_path / "index")
    monkeypatch.setenv("RAG_READ_ONLY", "true")
    before = _own_files(tmp_path / "index"), snapshot(tmp_path / "index")
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    assert not _keys(at) & ADD_WIDGETS and "Add an article" not in texts(at.sidebar.header)
    assert not at.sidebar.tabs
    status = visible(at.sidebar.markdown[0].value)
    assert "1 article" in status and "Moskau muss" in status  # the index and its article list are shown
    assert "This chat is read-only" in " ".join(texts(at.sidebar.caption))
    ask(at, SHOIGU)
    assert "40.000" in visible(at.chat_message[1].markdown[0].value)
    assert not (tmp_path / "seeds").exists()
    assert (_own_files(tmp_path / "index"), snapshot(tmp_path / "index")) == before  # the index is as it was


def test_read_only_page_does_not_build_a_missing_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "brücke.txt").write_text(BRIDGE_TITLE + "\n\n" + BRIDGE_TEXT, encoding="utf-8")
    monkeypatch.setenv("RAG_READ_ONLY", "1")
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    assert "this chat is read-only" in " ".join(texts(at.info))
    assert not _keys(at) & ADD_WIDGETS
    assert not (tmp_path / "index").exists() or not any((tmp_path / "index").iterdir())
    assert [p.name for p in seeds.iterdir()] == ["brücke.txt"]
    # The operator's command line still indexes; the page then lists and answers from it.
    assert cli.main(["index", "--quiet", str(seeds)]) == 0
    at.run()
    assert BRIDGE_TITLE in visible(at.sidebar.markdown[0].value)
    ask(at, "Wie viele Besucher kamen zur Eröffnung der Brücke in Falkenhain?")
    assert "3.200" in visible(at.chat_message[1].markdown[0].value)


def test_a_read_only_bot_refuses_to_save_or_index_an_article(tmp_path: Path, encoders) -> None:  # type: ignore[no-untyped-def]
    """Behind the page: even a form sent from a page opened before the switch cannot write."""
    from rag.config import Settings
    from rag.errors import InputError
    from rag.page import uploads
    from rag.pipeline import Bot

    bot = Bot(Settings(read_only=True), encoders=encoders)
    name, data = uploads.pasted(BRIDGE_TITLE, BRIDGE_TEXT, bot.settings)
    with pytest.raises(InputError, match="This chat is read-only \\(RAG_READ_ONLY\\)"):
        uploads.start_job(bot, name, data)
    assert not (tmp_path / "seeds").exists() and not (tmp_path / "index").exists()


def test_the_short_answer_is_bold_inside_quote_one_only_and_markup_stays_text() -> None:
    from rag.page import ui
    from rag.types import Citation

    text = "Vorher. Die USA schicken <b>400</b> Soldaten nach Deutschland. Danach nach Deutschland."
    start = text.index("Die USA")
    end = text.index("Danach") - 1
    one = Citation(1, "a", "a.txt", "Titel", start, end, text[start:end], 1.0)
    two = Citation(2, "a", "a.txt", "Titel", end + 1, len(text), text[end + 1 :], 0.5)
    shown = ui.Shown((one, two), ui.Context(text, 0, False, False))
    out = ui.shown_html(shown, "Deutschland")
    assert out.count("<strong>Deutschland</strong>") == 1  # in quote [1], not in [2]
    assert out.index("<strong>") < out.index("Danach")
    assert "<b>" not in out and "<b>400</b>" in visible(out)  # article markup shown as text
    assert visible(out).count("Deutschland") == 2
    # no bold when the short answer is the whole quote or not in it
    assert "<strong>" not in ui.shown_html(shown, one.quote)
    assert "<strong>" not in ui.shown_html(shown, "Frankreich")
    assert "<strong>" not in ui.shown_html(shown, None)
