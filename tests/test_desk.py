# ruff: noqa: E501  (article texts are written as published, one paragraph a line)
"""A news desk: article metadata (front matter, page metadata, file time), overview, collection,
latest and metadata questions, scope, and "this article" — on a real index with the real models."""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED, assert_quotes_verbatim

from rag.answering.requests import COLLECTION, LATEST, METADATA, OVERVIEW, read_request, without_pointer
from rag.articles.ingest import read_article
from rag.articles.metadata import front_matter, parse_date
from rag.cli import main
from rag.config import Settings
from rag.errors import InputError
from rag.index.manifest import read_manifest, write_manifest
from rag.pipeline import Bot
from rag.types import DATED_BY_FILE, DATED_BY_FRONT_MATTER, DATED_BY_PAGE, Scope

FENCE = """---
title: Regierung beschließt Grenzzaun in Spielfeld
date: 2016-02-03
source: https://www.derstandard.at/story/2000030112/grenzzaun
author: Maria Muster
---
Die Regierung hat am Mittwoch den Bau eines Grenzzauns in Spielfeld beschlossen. Der Zaun soll 3,7 Kilometer lang werden und bis Ende März stehen. Innenministerin Johanna Mikl-Leitner verteidigte den Plan gegen Kritik aus Slowenien.

Die Grünen kritisierten den Zaun als Symbolpolitik. Gazprom und andere Konzerne waren nicht betroffen.
"""
FENCE_LATER = """---
title: Grenzzaun in Spielfeld ist fertig
date: 2016-04-20
site: Beispielzeitung
---
Der Grenzzaun in Spielfeld ist fertiggestellt. Die Bauarbeiten dauerten sieben Wochen. Mikl-Leitner sprach von einem wichtigen Signal an die Schlepper.

Slowenien reagierte zurückhaltend auf die Fertigstellung.
"""
GAS = """---
title: Gazprom erhöht Lieferungen nach Europa
date: 12.01.2016
---
Der russische Konzern Gazprom hat seine Gaslieferungen nach Europa im Jänner deutlich erhöht. Grund sei die kalte Witterung, teilte das Unternehmen in Moskau mit. Die Preise blieben stabil.
"""
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Neue Brücke über die Mur | Grazer Blatt</title>
<meta property="og:title" content="Neue Brücke über die Mur eröffnet">
<meta property="og:site_name" content="Grazer Blatt">
<meta name="author" content="Karl Beispiel">
<meta property="article:published_time" content="2016-03-15T08:00:00+01:00">
</head><body><article><h1>Neue Brücke über die Mur eröffnet</h1>
<p>In Graz ist am Dienstag eine neue Fußgängerbrücke über die Mur eröffnet worden. Sie verbindet den Augarten mit dem Bezirk Lend und kostete 4,2 Millionen Euro.</p>
<p>Bürgermeister Siegfried Nagl sprach von einem Gewinn für die Stadt. Die Brücke ist 80 Meter lang.</p>
</article></body></html>"""
NOTES = "Notiz ohne Datum über den Stadtpark. Der Stadtpark wird im Sommer renoviert. Die Kosten trägt die Stadt."


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, encoders: list[Any]) -> Bot:
    base = tmp_path_factory.mktemp("desk")
    folder = base / "articles"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    (folder / "zaun.md").write_text(FENCE, encoding="utf-8")
    (folder / "zaun-fertig.md").write_text(FENCE_LATER, encoding="utf-8")
    (folder / "gas.txt").write_text(GAS, encoding="utf-8")
    (folder / "bruecke.html").write_text(PAGE, encoding="utf-8")
    notes = folder / "notiz.txt"
    notes.write_text(NOTES, encoding="utf-8")
    os.utime(notes, (1_450_000_000, 1_450_000_000))  # 2015-12-13
    bot = Bot(Settings(index_dir=base / "index"), encoders=encoders)
    bot.index([folder])
    return bot


def _id(bot: Bot, name: str) -> str:
    return next(aid for aid, m in bot.retriever.manifest.articles.items() if m["source"].endswith(name))


def _texts(bot: Bot) -> dict[str, str]:
    return {aid: a.text for aid, a in bot.retriever.articles.items()}


# -- metadata -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "iso"),
    [
        ("2016-02-03", "2016-02-03"),
        ("2016-03-15T08:00:00+01:00", "2016-03-15"),
        ("12.01.2016", "2016-01-12"),
        ("3. Februar 2016", "2016-02-03"),
        ("February 3, 2016", "2016-02-03"),
        ("2016-02-30", None),
        ("gestern", None),
    ],
)
def test_dates_are_read_as_people_write_them(written: str, iso: str | None) -> None:
    assert parse_date(written) == iso


def test_front_matter_is_taken_off_the_text_and_kept_as_metadata(tmp_path: Path) -> None:
    path = tmp_path / "zaun.md"
    path.write_text(FENCE, encoding="utf-8")
    loaded = read_article(path, str(path), 1_000_000)
    art = loaded.article
    assert art.text.startswith("Die Regierung hat am Mittwoch") and "---" not in art.text
    assert art.title == "Regierung beschließt Grenzzaun in Spielfeld"
    assert (art.meta.date, art.meta.dated_by, art.meta.author) == ("2016-02-03", DATED_BY_FRONT_MATTER, "Maria Muster")
    assert art.meta.url == "https://www.derstandard.at/story/2000030112/grenzzaun"
    assert art.meta.site == "derstandard.at"
    assert loaded.note is None


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("---\ntitle: Offen\nDer Text beginnt ohne schließende Linie.\n", "no closing '---' line"),
        ("---\ntitle: Datum\ndate: nächsten Dienstag\n---\nDer Text ist da.\n", "is not a date"),
        ("---\nDas ist keine Angabe\n---\nDer Text ist da.\n", "is not 'key: value'"),
    ],
)
def test_malformed_front_matter_loses_nothing_and_says_so(tmp_path: Path, text: str, note: str) -> None:
    path = tmp_path / "kaputt.md"
    path.write_text(text, encoding="utf-8")
    loaded = read_article(path, str(path), 1_000_000)
    assert note in (loaded.note or "") and loaded.note.startswith(str(path))
    assert "Text" in loaded.article.text
    assert loaded.article.meta.dated_by == DATED_BY_FILE  # no usable date: the file's time, marked
    if "closing" in note or "key: value" in note:
        assert loaded.article.text == text  # the whole file stays the article


def test_front_matter_alone_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "leer.md"
    path.write_text("---\ntitle: Nichts\n---\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="holds only front matter; add the article's text"):
        read_article(path, str(path), 1_000_000)


def test_front_matter_only_counts_at_the_very_top() -> None:
    text = "Ein Text.\n---\ntitle: nein\n---\n"
    assert front_matter(text).text == text and front_matter(text).title is None


def test_the_index_keeps_each_articles_metadata(desk: Bot) -> None:
    entries = desk.retriever.manifest.articles
    page = entries[_id(desk, "bruecke.html")]
    assert (page["date"], page["dated_by"], page["author"], page["site"]) == (
        "2016-03-15",
        DATED_BY_PAGE,
        "Karl Beispiel",
        "Grazer Blatt",
    )
    assert page["title"] == "Neue Brücke über die Mur eröffnet"
    notes = entries[_id(desk, "notiz.txt")]
    assert (notes["date"], notes["dated_by"]) == ("2015-12-13", DATED_BY_FILE)
    assert entries[_id(desk, "gas.txt")]["date"] == "2016-01-12"


def test_an_index_written_before_metadata_opens_and_is_completed_by_the_next_run(
    desk: Bot, tmp_path: Path, encoders: list[Any]
) -> None:
    index = tmp_path / "old"
    shutil.copytree(desk.settings.index_dir, index)
    manifest = read_manifest(index)
    assert manifest is not None
    for entry in manifest.articles.values():
        for key in ("date", "dated_by", "author", "site", "url"):
            entry.pop(key, None)
    write_manifest(index, manifest)
    bot = Bot(Settings(index_dir=index), encoders=encoders)
    answer = bot.ask("Wie lang soll der Zaun in Spielfeld werden?")
    assert "3,7 Kilometer" in (answer.short_answer or "") and answer.citations[0].date == ""
    source = Path(manifest.articles[_id(desk, "zaun.md")]["source"]).parent
    report = bot.index([source])
    assert report.chunks_embedded == 0  # no text changed: nothing embedded again
    again = read_manifest(index)
    assert again is not None and again.articles[_id(desk, "zaun.md")]["date"] == "2016-02-03"


# -- requests -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind", "subject", "field"),
    [
        ("What is this article about?", OVERVIEW, None, None),
        ("Worum geht es im Artikel über den Grenzzaun?", OVERVIEW, "Grenzzaun", None),
        ("Fasse den Artikel zusammen", OVERVIEW, None, None),
        ("Summarize the news on Gazprom", OVERVIEW, "Gazprom", None),
        ("Which articles mention Gazprom?", COLLECTION, "Gazprom", None),
        ("Welche Artikel berichten über Mikl-Leitner?", COLLECTION, "Mikl-Leitner", None),
        ("What is the latest on the border fence?", LATEST, "border fence", None),
        ("Was gibt es Neues zu Spielfeld?", LATEST, "Spielfeld", None),
        ("When was this published?", METADATA, None, "date"),
        ("Wer hat den Artikel über die Brücke geschrieben?", METADATA, "Brücke", "author"),
        ("Which site published it?", METADATA, None, "site"),
    ],
)
def test_news_desk_requests_are_recognised(question: str, kind: str, subject: str | None, field: str | None) -> None:
    request = read_request(question)
    assert request is not None and (request.kind, request.subject, request.field) == (kind, subject, field)


@pytest.mark.parametrize(
    "question",
    [
        "How many troops did Shoigu claim?",
        "Wann war das?",
        "Who said that?",
        "Which articles mention it?",
        "Und Biden?",
    ],
)
def test_fact_questions_are_not_requests(question: str) -> None:
    assert read_request(question) is None


# -- answers ------------------------------------------------------------------------------------


def test_overview_quotes_the_lead_of_the_article_it_names(desk: Bot) -> None:
    for question in (
        "Worum geht es im Artikel über die Brücke in Graz?",
        "What is the article about the bridge about?",
    ):
        answer = desk.ask(question)
        assert answer.kind == OVERVIEW and not answer.abstained
        cite = answer.citations[0]
        assert cite.article_id == _id(desk, "bruecke.html")
        assert cite.quote.startswith("In Graz ist am Dienstag eine neue Fußgängerbrücke")
        # three sentences (Lead-3), across the paragraph break; the heading repeating the title is left out
        assert cite.quote.endswith("von einem Gewinn für die Stadt.") and "80 Meter" not in cite.quote
        assert "Neue Brücke über die Mur eröffnet" in answer.answer and "2016-03-15" in answer.answer
        assert_quotes_verbatim(answer, _texts(desk))


def test_this_article_is_the_one_the_last_answer_quoted(desk: Bot) -> None:
    first = desk.ask("How many troops did Shoigu claim?")
    seed = first.citations[0].article_id
    about = desk.ask("What is this article about?", history=[first.question], context=seed)
    assert about.kind == OVERVIEW and about.citations[0].article_id == seed and about.searched == ""
    asked = "Wie lang ist der Zaun laut diesem Artikel?"
    quoted = desk.ask(asked, history=["Wie viele Soldaten hat Russland?"], context=_id(desk, "zaun.md"))
    assert {c.article_id for c in quoted.citations} == {_id(desk, "zaun.md")}
    assert quoted.short_answer == "3,7 Kilometer"
    # not joined to the question before; the pointer at the article is not searched as its words
    assert quoted.searched == "Wie lang ist der Zaun?"


def test_the_pointer_at_this_article_is_not_part_of_what_is_searched() -> None:
    assert without_pointer("Wie lang ist der Zaun laut diesem Artikel?") == "Wie lang ist der Zaun?"
    assert without_pointer("According to this article, how many troops moved?") == "How many troops moved?"
    assert without_pointer("Wer wird in diesem Artikel zitiert?") == "Wer wird zitiert?"
    # where the article is what is asked about, or little else is asked, the question stays
    assert without_pointer("What does this article say?") == "What does this article say?"
    assert without_pointer("Was steht in diesem Artikel?") == "Was steht in diesem Artikel?"


def test_collection_lists_exactly_the_articles_that_name_it_newest_first(desk: Bot) -> None:
    texts = {m["source"]: desk.retriever.articles[aid].text for aid, m in desk.retriever.manifest.articles.items()}
    for name in ("Gazprom", "Mikl-Leitner", "Spielfeld"):
        answer = desk.ask(f"Which articles mention {name}?")
        scanned = {s for s, t in texts.items() if re.search(rf"(?<!\w){re.escape(name)}", t)}
        assert {c.source for c in answer.citations} == scanned, name
        assert all(name in c.quote for c in answer.citations)  # the sentence naming it
        dates = [c.date for c in answer.citations]
        assert dates == sorted(dates, reverse=True)
        assert answer.answer.startswith(f"{len(scanned)} article")
    german = desk.ask("Welche Artikel erwähnen Gazprom?")
    assert german.answer.startswith("2 Artikel erwähnen „Gazprom“")


def test_a_name_no_article_holds_is_said_plainly(desk: Bot) -> None:
    answer = desk.ask("Which articles mention Wolfgang Sobotka?")
    assert answer.answer.startswith("No article mentions “Wolfgang Sobotka” word for word.")


def test_latest_answers_from_the_newest_matching_article_and_says_its_date(desk: Bot) -> None:
    for question in ("What is the latest on Spielfeld?", "Was gibt es Neues zum Grenzzaun?"):
        answer = desk.ask(question)
        assert answer.kind == LATEST and answer.citations[0].article_id == _id(desk, "zaun-fertig.md"), question
        assert "2016-04-20" in answer.answer
        assert answer.citations[0].quote.startswith("Der Grenzzaun in Spielfeld ist fertiggestellt.")


def test_metadata_questions_are_answered_from_the_metadata_line(desk: Bot) -> None:
    when = desk.ask("When was the article about the bridge in Graz published?")
    assert when.kind == METADATA and "2016-03-15" in when.answer
    assert when.citations[0].meta_field == "date" and when.citations[0].quote == "date: 2016-03-15 (page)"
    who = desk.ask("Wer hat diesen Artikel geschrieben?", context=_id(desk, "zaun.md"))
    assert who.answer.startswith("„Regierung beschließt Grenzzaun in Spielfeld“ ist von Maria Muster.")
    site = desk.ask("Which site published it?", context=_id(desk, "zaun.md"))
    assert "derstandard.at" in site.answer and site.citations[0].meta_field == "site"
    undated = desk.ask("When was this published?", context=_id(desk, "notiz.txt"))
    assert "carries no publication date; its file is dated 2015-12-13" in undated.answer
    unknown = desk.ask("Who wrote it?", context=_id(desk, "gas.txt"))
    assert "names no author" in unknown.answer and not unknown.abstained


def test_a_request_without_an_article_asks_which_one(desk: Bot) -> None:
    answer = desk.ask("When was this published?")
    assert answer.abstained and answer.answer.startswith("Which article do you mean?")


# -- scope --------------------------------------------------------------------------------------


def test_scope_to_one_article_or_a_date_range(desk: Bot) -> None:
    question = "Wie lang ist die Brücke?"
    inside = desk.ask(question, scope=Scope(article="bruecke.html"))
    assert {c.article_id for c in inside.citations} == {_id(desk, "bruecke.html")}
    assert "80 Meter" in inside.answer
    outside = desk.ask("Wie lang soll der Zaun werden?", scope=Scope(since="2016-03-01"))
    assert _id(desk, "zaun.md") not in {c.article_id for c in outside.citations}
    listed = desk.ask("Which articles mention Spielfeld?", scope=Scope(until="2016-03-01"))
    assert [c.article_id for c in listed.citations] == [_id(desk, "zaun.md")]


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        (Scope(article="Olympia"), "No indexed article matches 'Olympia'; python -m rag status lists them"),
        (Scope(article="Grenzzaun"), "'Grenzzaun' matches 2 article titles"),
        (Scope(since="2030-01-01"), "No indexed article is dated on or after 2030-01-01; the articles are dated from"),
        (Scope(since="2016-05-01", until="2016-01-01"), "ends before it starts"),
        (Scope(since="Montag"), "The since date 'Montag' is not a date; write it as YYYY-MM-DD."),
    ],
)
def test_a_scope_with_no_article_is_one_clear_line(desk: Bot, scope: Scope, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        desk.ask("Wie lang ist die Brücke?", scope=scope)


def test_cli_ask_takes_a_scope_and_prints_dates(desk: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    index = str(desk.settings.index_dir)
    before = (desk.settings.index_dir / "manifest.json").read_text(encoding="utf-8")
    assert main(["ask", "Wie lang ist die Brücke?", "--index-dir", index, "--article", "bruecke.html", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "fact" and out["citations"][0]["date"] == "2016-03-15"
    assert main(["ask", "Welche Artikel erwähnen Gazprom?", "--index-dir", index]) == 0
    printed = capsys.readouterr().out
    assert "[2] Gazprom erhöht Lieferungen nach Europa (2016-01-12)" in printed
    code = main(["ask", "Wie lang ist die Brücke?", "--index-dir", index, "--since", "2030-01-01"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "No indexed article is dated on or after 2030-01-01" in err
    assert (desk.settings.index_dir / "manifest.json").read_text(encoding="utf-8") == before


def test_with_a_language_model_the_overview_is_written_from_the_lead_and_checked(
    desk: Bot, encoders: list[Any]
) -> None:
    # No model that could summarise runs here: a canned chat model checks the wiring.
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    written = "Eine neue Fußgängerbrücke verbindet in Graz den Augarten mit dem Bezirk Lend [1]."
    model = FakeListChatModel(responses=[written, "Die Brücke kostete 9 Millionen Euro [1]."])
    bot = Bot(desk.settings, encoders=encoders, llm=model)
    answer = bot.ask("Worum geht es im Artikel über die Brücke in Graz?")
    assert (answer.kind, answer.backend, answer.answer) == (OVERVIEW, "llm", written)
    assert answer.citations[0].quote.startswith("In Graz ist am Dienstag") and answer.citations[0].date == "2016-03-15"
    wrong = bot.ask("Worum geht es im Artikel über die Brücke in Graz?")  # a number the lead does not hold
    assert (
        wrong.backend == "extractive" and wrong.kind == OVERVIEW and "did not pass the citation check" in wrong.notice
    )


def test_a_page_without_metadata_gets_sensible_defaults(tmp_path: Path) -> None:
    path = tmp_path / "ohne.html"
    body = "<p>" + "Der Gemeinderat von Quellbach hat neue Laternen beschlossen. " * 5 + "</p>"
    path.write_text(f"<html><head></head><body><article>{body}</article></body></html>", encoding="utf-8")
    art = read_article(path, str(path), 1_000_000).article
    assert art.title.startswith("Der Gemeinderat von Quellbach")  # the first sentence stands in for a title
    assert (art.meta.dated_by, art.meta.author, art.meta.site) == (DATED_BY_FILE, None, None)


def test_the_page_limits_answers_to_the_chosen_article_and_dates(
    desk: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest
    from test_app import APP, ask, visible

    shutil.copytree(desk.settings.index_dir, tmp_path / "index")
    (tmp_path / "seeds").mkdir()
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception
    box = at.sidebar.selectbox(key="scope_article")
    assert box.options[0] == "All articles" and box.options[1] == "Grenzzaun in Spielfeld ist fertig"  # newest first
    box.set_value(_id(desk, "bruecke.html")).run()
    ask(at, "Wie lang ist die Brücke?")
    reply = at.chat_message[1]
    assert "80 Meter" in visible(reply.markdown[0].value)
    assert all("Neue Brücke über die Mur eröffnet" in visible(m.value) for m in reply.markdown if "rag-cite" in m.value)
    ask(at, "Wann wurde dieser Artikel veröffentlicht?")  # 'this article': the one the last answer quoted
    assert "erschien am 2016-03-15" in visible(at.chat_message[3].markdown[0].value)
    at.sidebar.date_input(key="scope_since").set_value(datetime.date(2030, 1, 1)).run()
    ask(at, "Wie lang ist die Brücke?")
    assert "No indexed article is dated on or after 2030-01-01" in visible(at.chat_message[5].error[0].value)
