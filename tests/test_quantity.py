"""What kind of quantity a question asks for (money, a share, an age, a year, a time of day, a length,
a weight, ...): read from the question, matched to the unit of a number phrase, and kept by the
answer: only a phrase of the asked kind is the short answer, and evidence holding none is declined.
The end-to-end tests use a real index of small articles with the real models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from indexkit import BRIDGE, FERRY, MINE, TRAIN

from rag.answering import extract, quantity
from rag.answering.question import read
from rag.answering.wording import no_short_answer
from rag.config import Settings
from rag.pipeline import Bot


@pytest.mark.parametrize(
    ("question", "measure"),
    [
        ("How much did Geely pay for Volvo?", "money"),
        ("Wie viel hat Geely für Volvo bezahlt?", "money"),
        ("Wie teuer ist eine Fahrt nach Oslo?", "money"),
        ("What did the new bridge cost?", "money"),
        ("Was hat der Umbau gekostet?", "money"),
        ("How much is the company worth?", "money"),
        ("What share of the vote did Morales win?", "percent"),
        ("Welchen Anteil hält die Republik?", "percent"),
        ("How old was the youngest victim?", "age"),
        ("In which year was the bridge opened?", "year"),
        ("In welchem Jahr wurde Rom gegründet?", "year"),
        ("Um wie viel Uhr beginnt das Spiel?", "clock"),
        ("How fast does the train travel?", "speed"),
        ("Bei welcher Temperatur schmilzt das Eis?", "temperature"),
        ("How heavy are the silver reserves?", "weight"),
        ("What power does the plant have?", "power"),
        ("How long is the Neckar bridge in Tübingen?", "length"),
        # no measure: a count of things, a period, a name
        ("How many soldiers did Shoigu claim?", None),
        ("How long did the war last?", None),
        ("Within roughly what time span did Russia deploy two armies?", None),
        ("Who won the race?", None),
    ],
)
def test_the_measure_a_question_asks_for(question: str, measure: str | None) -> None:
    assert quantity.asked(question) == measure


@pytest.mark.parametrize(
    ("phrase", "measure", "cut"),
    [
        ("20 Millionen Euro gezahlt", "money", "20 Millionen Euro"),
        ("$ 5 billion", "money", "$ 5 billion"),
        ("zehn Prozent beherrscht", "percent", "zehn Prozent"),
        ("27-30 %", "percent", "27-30 %"),
        ("fünf bis zehn Jahre", "time", "fünf bis zehn Jahre"),
        ("400 oder 500 Kilometer lang", "length", "400 oder 500 Kilometer"),
        ("15.05 Uhr", "clock", "15.05 Uhr"),
        ("100 m Hürden", "length", "100 m"),
        ("40.000 Soldaten", None, "40.000 Soldaten"),
    ],
)
def test_a_number_phrase_is_measured_by_its_unit(phrase: str, measure: str | None, cut: str) -> None:
    assert quantity.of_phrase(phrase) == measure
    assert phrase[: quantity.unit_end(phrase)] == cut


def _spans(question: str, sentence: str) -> list[str]:
    q = read(question)
    return [s.text for s in extract.candidates(sentence, q.asks, q.text, q.measure, q.target)]


def test_only_phrases_of_the_asked_measure_are_candidates() -> None:
    sentence = "Novomatic übernahm 16,8 Prozent und zahlte dafür 20 Millionen Euro an die Stiftung."
    assert _spans("How much did Novomatic pay for the stake?", sentence) == ["20 Millionen Euro"]
    assert _spans("What share did Novomatic take over?", sentence) == ["16,8 Prozent"]
    # no amount of money in the sentence: nothing of the asked kind
    assert _spans("Wie viel Umsatz machten die Casinos?", "Novomatic hält 28,14 Prozent an den Casinos.") == []


def test_a_year_question_wants_a_year_not_a_day() -> None:
    sentence = "Am 26. März erscheint die letzte Ausgabe der Zeitung, die der Oligarch 2010 gekauft hatte."
    assert _spans("In which year did the oligarch buy the newspaper?", sentence) == ["2010"]
    # early years: 'im Jahr 753 v. u. Z.', 'im Jahr 1774'
    assert _spans("In welchem Jahr wurde Rom gegründet?", "Rom wurde im Jahr 753 v. u. Z. gegründet.") == [
        "im Jahr 753 v. u. Z"
    ]
    assert _spans("In what year did Priestley find oxygen?", "Priestley fand ihn im Jahr 1774.") == ["im Jahr 1774"]


def test_ages_and_shares_without_a_number_and_unit() -> None:
    assert _spans("How old was the youngest victim?", "Das jüngste Opfer war eine Sechsjährige.") == ["Sechsjährige"]
    assert _spans("How old was Manning?", "Peyton Manning, 39, war der älteste Spieler.") == ["39"]
    assert _spans("Welchen Anteil hat der Amazonas?", "Der Amazonas umfasst über die Hälfte der Regenwälder.") == [
        "über die Hälfte"
    ]


def test_a_count_of_things_is_not_answered_by_a_time_or_a_year() -> None:
    assert _spans("How many reporters lost their jobs?", "Die Zeitung erschien 30 Jahre lang mit 150 Reportern.") == [
        "150 Reportern"
    ]
    # a year before an article or another number is a year, not a count
    assert _spans("How many cars did Volvo build?", "Volvo, das seit 2010 dem Autobauer Geely gehört.") == []


def test_the_missing_measure_is_named() -> None:
    assert no_short_answer("How much did it cost?", "count", "money") == (
        "The articles name no amount of money for this directly; the passage closest to the question:"
    )
    assert no_short_answer("Wie alt ist er?", "count", "age") == (
        "Die Artikel nennen dazu kein Alter direkt; die Stelle, die der Frage am nächsten kommt:"
    )


@pytest.fixture(scope="module")
def four_articles(tmp_path_factory: pytest.TempPathFactory, encoders: list[Any]) -> Bot:
    base = tmp_path_factory.mktemp("quantities")
    seeds = base / "seeds"
    seeds.mkdir()
    for name, text in (("bridge", BRIDGE), ("ferry", FERRY), ("mine", MINE), ("train", TRAIN)):
        (seeds / f"{name}.txt").write_text(text, encoding="utf-8")
    bot = Bot(Settings(index_dir=base / "index"), encoders=encoders)
    bot.index([seeds])
    return bot


def test_the_amount_of_money_asked_is_the_short_answer(four_articles: Bot) -> None:
    answer = four_articles.ask("Wie viel kostete der Bau der Neckarbrücke?")
    assert not answer.abstained
    assert answer.short_answer == "31 Millionen Euro"
    first = answer.citations[0]
    assert Path(first.source).name == "bridge.txt" and "31 Millionen Euro" in first.quote
    assert BRIDGE[first.start : first.end] == first.quote


def test_a_weight_asked_in_english_is_the_weight(four_articles: Bot) -> None:
    answer = four_articles.ask("How heavy are the silver reserves in Freiberg?")
    assert answer.short_answer == "90 Tonnen"  # as the article has it
    assert answer.answer.splitlines()[0].startswith("90 tonnes")  # shown in English notation
    assert "90 Tonnen Silber" in answer.citations[0].quote and Path(answer.citations[0].source).name == "mine.txt"


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("Wie teuer ist eine Fahrt mit der Fähre nach Oslo?", "keinen Geldbetrag"),  # the ferry article names no price
        ("Um wie viel Uhr fährt der Nachtzug nach Wien ab?", "keine Uhrzeit"),  # only '13 Stunden', a duration
        ("How fast does the night train to Vienna travel?", "no speed"),
    ],
)
def test_a_measure_no_article_gives_is_not_said(four_articles: Bot, question: str, named: str) -> None:
    answer = four_articles.ask(question)
    assert answer.abstained
    assert answer.short_answer is None and not answer.citations
    # the reply says what the closest passages lack
    assert question in answer.answer and answer.answer.endswith(f"{named}).")
