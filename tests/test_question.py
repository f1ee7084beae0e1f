"""A question is read once: what it asks for, its names, numbers and words, the German renderings
of an English question and the synonyms of a German one. The thesaurus parser on real lines of
OpenThesaurus, its derived table, and the bot without it (one warning, answers as before)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rag.answering.question import read, speaker_of
from rag.answering.wording import no_short_answer
from rag.config import Settings
from rag.language import thesaurus
from rag.language.dictionary import Dictionary
from rag.language.thesaurus import Thesaurus
from rag.pipeline import Bot
from tests.test_dictionary import STERBEN, TRUPPE

# Lines of OpenThesaurus (2016-04-24; LGPL-2.1, Daniel Naber), as the Debian package
# openthesaurus-de-text installs them; the last one has more terms than a set may have.
SYNSETS = [
    "# OpenThesaurus - German Thesaurus in text format",
    "Außenminister;Chefdiplomat (ugs.);Außenamtschef (ugs.)",
    "NATO-Vertrag;Nordatlantikpakt;Nordatlantikvertrag",
    "Kanzler;Bundeskanzler",
    "machen;tun;erledigen;ausführen;vollbringen;bewerkstelligen;schaffen;anfertigen;herstellen;erzeugen",
]


def test_a_number_in_english_notation_finds_it_in_german() -> None:
    from rag.answering import features

    q = read("Did Shoigu claim 40,000 soldiers and 1.5 million euros?")
    assert q.numbers == frozenset({"40000", "15"})
    sentence = "Schoigu sprach von 40.000 Soldaten und 1,5 Millionen Euro."
    assert features.numbers_found(set(q.numbers), sentence) == 1.0
    assert features.numbers_found(set(q.numbers), "Schoigu sprach von 4000 Soldaten.") == 0.0


def test_what_a_question_asks_is_read_once() -> None:
    q = read("How many troops did Shoigu claim in 2021?")
    assert (q.lang, q.asks, q.target) == ("en", "count", "troops")
    assert q.names == ("Shoigu",) and q.numbers == frozenset({"2021"})
    assert {"troop", "shoigu", "claim"} <= q.words and not q.german and not q.alternatives
    dated = read("An welchem Tag telefonierte Biden mit Putin?")
    assert (dated.lang, dated.asks, dated.asks_date) == ("de", "when", True)
    assert set(dated.names) == {"Tag", "Biden", "Putin"}
    # what is counted after 'of the ...'s': not 'of'
    assert read("How many of the Independent's journalists will lose their jobs?").target == "journalists"
    assert read("How much did Geely pay for Volvo?").measure == "money"


def test_a_follow_up_is_read_with_the_question_it_continues() -> None:
    q = read("Und Kriegsfahrzeuge?", "Wie viele Soldaten hat Russland? Und Kriegsfahrzeuge?")
    assert q.text == q.searched and q.asks == "count" and q.asked == "Und Kriegsfahrzeuge?"
    part = read("Wo wollen sie sich treffen?", "Wer rief Putin an, und wo wollen sie sich treffen?")
    assert part.text == part.asked and part.asks == "where"  # a part searched as the whole question


def test_english_words_are_rendered_into_german() -> None:
    ding = Dictionary.from_lines([STERBEN, TRUPPE])
    q = read("How many troops died near the border?", dictionary=ding)
    assert "trupp" in q.alternatives["troop"] and "gestorb" in q.alternatives["die"]
    assert q.german["trupp"] == 1.0 and "near" in q.german  # unknown words searched as they are
    german = read("Wie viele Truppen starben?", dictionary=ding)
    assert not german.german and not german.alternatives  # a German question is not rendered


def test_a_question_word_counts_as_found_inside_a_compound() -> None:
    from rag.answering import features
    from rag.language.lexical import tokens

    ding = Dictionary.from_lines([STERBEN, TRUPPE])
    q = read("How many troops were moved?", dictionary=ding)
    sentence = set(tokens("Russland verlegte Grenztruppen und Fallschirmjäger.", "de"))
    parts = features.compound_parts(sentence)
    forms = {"troop", *q.alternatives["troop"]}  # 'trupp', rendered
    assert not forms & sentence  # not a word of the sentence as it stands
    assert features.in_parts(forms, sentence, parts)  # but the end of 'Grenztruppen'
    assert "trupp" in parts and "gren" in parts and "tru" not in parts  # parts of four letters or more
    assert not features.in_parts({"und"}, {"grund"}, features.compound_parts({"grund"}))  # too short to count as a part


def test_thesaurus_keeps_small_sets_of_single_words(tmp_path: Path) -> None:
    t = Thesaurus.from_lines(SYNSETS)
    assert t.synonyms("chefdiplomat") == {"aussenminist", "aussenamtschef"}
    assert t.synonyms("kanzl") == {"bundeskanzl"} and t.synonyms("nordatlantikpakt") >= {"nordatlantikvertrag"}
    assert not t.synonyms("mach")  # a set of ten: too loose
    q = read("Was sagte Kiews Chefdiplomat?", thesaurus=t)
    assert q.alternatives == {"chefdiplomat": frozenset({"aussenminist", "aussenamtschef"})}
    source = tmp_path / "openthesaurus.txt"
    source.write_text("\n".join(SYNSETS) + "\n", encoding="utf-8")
    first = thesaurus.open_thesaurus(source, tmp_path / "cache")
    (table,) = (tmp_path / "cache").glob("thesaurus-*.tsv")
    assert first == t and Thesaurus.read_table(table) == t


def test_without_the_thesaurus_the_bot_answers_and_warns_once(
    seed_index: Path,
    encoders,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(index_dir=seed_index, thesaurus=tmp_path / "no-thesaurus")
    with caplog.at_level(logging.WARNING, logger="rag.language.thesaurus"):
        for _ in range(2):
            answer = Bot(settings, encoders=encoders).ask("Wie viele ukrainische Soldaten starben 2021?")
            assert not answer.abstained and answer.short_answer and "29" in answer.short_answer
    warnings = [r for r in caplog.records if r.name == "rag.language.thesaurus"]
    assert len(warnings) == 1
    assert "no-thesaurus" in warnings[0].getMessage()
    assert "apt-get install openthesaurus-de-text" in warnings[0].getMessage()


def test_a_typed_question_without_a_span_of_its_kind_says_so(seed_bot) -> None:  # type: ignore[no-untyped-def]
    # The evidence for 'When ...?' holds no date: the answer says so and shows the sentence, which is
    # kept as the short answer only with short_found false.
    answer = seed_bot.ask("When did Biden phone Putin?")
    assert not answer.abstained and not answer.short_found
    lead, quotes = answer.answer.split("\n\n", 1)
    assert lead == no_short_answer(answer.question, "when")
    assert lead == "The articles name no date for this directly; the passage closest to the question:"
    assert quotes.startswith(f"„{answer.citations[0].quote}“ [1]") and answer.short_answer in answer.citations[0].quote
    assert answer.to_json()["short_found"] is False
    found = seed_bot.ask("How many troops did Shoigu claim?")
    assert found.short_found and found.answer.startswith("40,000 Soldaten")
    assert no_short_answer("Wann rief Biden an?", "when") == (
        "Die Artikel nennen dazu kein Datum direkt; die Stelle, die der Frage am nächsten kommt:"
    )
    assert no_short_answer("What did Biden say?", "other") is None  # nothing of a kind was asked


def test_indexing_makes_the_language_tables_for_the_first_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag import cli

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    text = "Brücke eröffnet\n\nDie neue Brücke hat 3.200 Besucher angezogen."
    (seeds / "brücke.txt").write_text(text, encoding="utf-8")
    (tmp_path / "de-en").write_text("\n".join([STERBEN, TRUPPE]) + "\n", encoding="utf-8")
    (tmp_path / "openthesaurus.txt").write_text("\n".join(SYNSETS) + "\n", encoding="utf-8")
    for name, value in [
        ("RAG_INDEX_DIR", tmp_path / "index"),
        ("RAG_CACHE_DIR", tmp_path / "cache"),
        ("RAG_DICTIONARY", tmp_path / "de-en"),
        ("RAG_THESAURUS", tmp_path / "openthesaurus.txt"),
    ]:
        monkeypatch.setenv(name, str(value))
    assert cli.main(["index", "--quiet", str(seeds)]) == 0
    (ding,) = (tmp_path / "cache").glob("ding-*.tsv")
    (synonyms,) = (tmp_path / "cache").glob("thesaurus-*.tsv")
    assert "trupp" in ding.read_text(encoding="utf-8") and "chefdiplomat" in synonyms.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        ("What did Macron say about the troops?", "Macron"),
        ("What did Joe Biden tell Putin?", "Joe Biden"),
        ("Was sagte Stoltenberg über die Truppen?", "Stoltenberg"),
        ("Was hat Macron zu den Truppen gesagt?", "Macron"),
        ("What did the Kremlin announce?", None),  # no capitalised name right after the verb
        ("Was hat der Minister gesagt?", None),
        ("Was hat Russland an der Grenze stationiert?", None),  # a deed, not words
        ("How many troops did Shoigu claim?", None),
    ],
)
def test_whose_words_are_asked_for(text: str, speaker: str | None) -> None:
    assert speaker_of(text) == speaker
