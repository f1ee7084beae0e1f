"""English questions search German articles' words through the Ding dictionary: the parser on real
lines of it, the renderings finding the right German passage of the seed article, and the bot
without the dictionary (one warning, answers as before)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from rag.answering.retrieve import Retriever
from rag.config import Settings
from rag.language import dictionary
from rag.language.dictionary import Dictionary, entry_pairs, german_terms, word_renderings
from rag.pipeline import Bot
from tests.conftest import assert_quotes_verbatim

# Lines of the Ding dictionary (version 2023-01-30; GPL-2+, Frank Richter, TU Chemnitz), as the
# Debian package trans-de-en installs them (the Bevölkerung line cut after its third sub-entry).
STERBEN = (
    "sterben {vi} [biol.] [med.] | sterbend | gestorben | du stirbst | er/sie stirbt | ich/er/sie starb | "
    "er/sie ist/war gestorben | ich/er/sie stürbe | stirb! | jung sterben | eines natürlichen Todes sterben | "
    "eines gewaltsamen Todes sterben | an einer feinstaubbedingten Krankheit wie der Staublunge sterben | "
    "an einer Verletzung/Wunde sterben | vor Hunger (Durst) sterben | ohne direkte Nachkommen sterben | "
    "tausend Tode sterben | im Elend sterben :: to die {died; died} | dying | died | you die | he/she dies | "
    "I/he/she died | he/she has/had died | I/he/she would die | die! | to die young | to die a natural death | "
    "to die a violent death | to die from/of a PM-related disease like the dust disease | "
    "to die from an injury/a wound | to die of hunger (thirst) | to die without issue | "
    "to die a thousand deaths | to die like a dog"
)
TRUPPE = (
    "Truppe {f} [mil.] | Truppen {pl} | Entsatztruppe {f}; Entsatz {m} [ugs.] [hist.] | Fronttruppen {pl} | "
    "reguläre Truppen | Dienst bei der Truppe | die Moral der Truppe | die Schlagkraft der Truppe | "
    "unerlaubtes Entfernen von der Truppe | Der Oberbefehlshaber zog alle seine Truppen zurück. :: "
    "troops; forces | troops; soldiery | relief troops; relief forces | frontline troops | "
    "regular troops; regulars | military service | the morale of the troops | the strike power of the forces | "
    "absence without leave /AWOL/ | The commander-in-chief retired all his troops."
)
HORDE = (
    "Horde {f}; Meute {f}; Rudel {n}; Schar {f}; Schwarm {m}; Gruppe {f} (von jdm.) [soc.] | Horden {pl}; "
    "Meuten {pl}; Rudel {pl}; Scharen {pl}; Schwärme {pl}; Gruppen {pl} | eine Horde wilder Affen | "
    "eine Gruppe von Musikern :: troop (of sb.) | troops | a troop of wild monkeys | a troop of musicians"
)
WARSCHAU = "Warschau (Hauptstadt von Polen) [geogr.] :: Warsaw (capital of Poland) <Warszawa>"
BEVOELKERUNG = (
    "Bevölkerung {f} /Bev./ | abnehmende Bevölkerung | einheimische Bevölkerung; indigene Population :: "
    "population /pop./ | declining population | native population; indigenous population"
)
CHEFTRAINER = "Cheftrainer {m}; Chefcoach {m} :: head coach"
LINES = ["# Version :: devel 2023-01-30", STERBEN, TRUPPE, HORDE, WARSCHAU, BEVOELKERUNG]


def test_entry_pairs_align_sub_entries_and_drop_notes() -> None:
    pairs = entry_pairs(STERBEN)
    assert pairs[:3] == [(("die",), "sterben", 1.0), (("dying",), "sterbend", 1.0), (("died",), "gestorben", 1.0)]
    # the ';' inside the note '{died; died}' splits nothing; pronouns and 'to' are no content
    assert (("dies",), "er/sie stirbt", 1.0) in pairs and (("died",), "ich/er/sie starb", 1.0) in pairs
    assert all("{" not in de and "(" not in de for _, de, _ in pairs)
    assert entry_pairs(WARSCHAU) == [(("warsaw",), "Warschau", 1.0)]
    horde = entry_pairs(HORDE)
    assert (("troops",), "Meuten", 1 / 6) in horde and (("troop",), "Gruppe", 1 / 6) in horde
    assert (("population",), "Bevölkerung", 1.0) in entry_pairs(BEVOELKERUNG)
    assert entry_pairs("# License :: GPL Version 2 or later") == []


def test_renderings_by_how_often_the_pair_occurs() -> None:
    d = Dictionary.from_lines(LINES)
    # 'Truppe' and 'Truppen' both render 'troops' alone; each of the six 'Horden ...' only a sixth
    assert d.renderings("troops")[0] == ("trupp", 1.0)
    assert [s for s, _ in d.renderings("troops")][1:] == ["hord", "meut"]
    assert d.renderings("troops")[1][1] == pytest.approx(1 / 12, abs=1e-3)
    assert d.renderings("warsaw") == [("warschau", 1.0)]
    assert d.renderings("populations") == [("bevolker", 1.0)]  # a plural it lacks, by its singular
    assert d.renderings("died")[0] == ("gestorb", 1.0)
    assert d.renderings("unknownword") == []


def test_question_rendered_names_and_numbers_kept() -> None:
    d = Dictionary.from_lines(LINES)
    assert german_terms("What was Warsaw's population in 1901?", d) == {
        "warsaw": 1.0,  # a name: kept as it is, and rendered
        "warschau": 1.0,
        "bevolker": 1.0,
        "1901": 1.0,
    }
    terms = german_terms("How many troops died near Stoltenberg's office?", d)
    assert terms["trupp"] == 1.0 and terms["gestorb"] == 1.0 and terms["stoltenberg"] == 1.0
    assert terms["near"] == 1.0 and "how" not in terms and "many" not in terms  # unknown kept, question words not


def test_two_english_words_rendered_as_one_german_compound() -> None:
    d = Dictionary.from_lines([*LINES, CHEFTRAINER])
    assert d.renderings("head coach") == [("cheftrain", 1.0), ("chefcoach", 1.0)]
    assert d.renderings("head coaches") == [("cheftrain", 1.0), ("chefcoach", 1.0)]  # a plural it lacks
    assert d.renderings("coach") == [] and d.renderings("head") == []  # the phrase's words alone: not that
    terms = german_terms("Who is the head coach of the troops?", d)
    assert terms["cheftrain"] == 1.0 and terms["chefcoach"] == 1.0 and terms["trupp"] == 1.0
    alternatives = word_renderings("Who is the head coach of the troops?", d)
    assert "cheftrain" in alternatives["coach"] and "cheftrain" in alternatives["head"]
    assert "cheftrain" not in alternatives["troop"]
    # only adjacent words (stop words between them aside) make the phrase
    assert "cheftrain" not in german_terms("Which coach saw the head of the troops?", d)
    assert "cheftrain" not in german_terms("Who is the coach's head?", d)


def test_table_cached_by_size_and_time(tmp_path: Path) -> None:
    source = tmp_path / "de-en"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    cache = tmp_path / "cache"
    first = dictionary.open_dictionary(source, cache)
    assert first is not None
    (table,) = cache.glob("ding-*.tsv")
    assert Dictionary.read_table(table) == first
    table.write_text("warsaw\tbreslau 1.0\n", encoding="utf-8")  # what a later start reads
    assert dictionary.open_dictionary(source, cache).renderings("warsaw") == [("breslau", 1.0)]
    source.write_text("\n".join(LINES[:-1]) + "\n", encoding="utf-8")  # another file: made again
    again = dictionary.open_dictionary(source, cache)
    assert again.renderings("warsaw") == [("warschau", 1.0)] and again.renderings("population") == []
    assert len(list(cache.glob("ding-*.tsv"))) == 2


NEEDS_DING = pytest.mark.skipif(
    not dictionary.DEFAULT_PATH.exists(), reason="needs the Ding dictionary: apt-get install trans-de-en"
)


@pytest.fixture
def ding() -> Dictionary:
    """The system's Ding dictionary, read through the derived table in the model cache."""
    found = dictionary.load(dictionary.DEFAULT_PATH, Settings().model_cache())
    assert found is not None
    return found


@NEEDS_DING
def test_english_question_finds_the_german_passage_by_rendering(seed_index: Path, encoders, ding: Dictionary) -> None:  # type: ignore[no-untyped-def]
    question = "In which region did the Ukrainian soldiers lose their lives?"
    evidence = "Im Jahr 2021 waren sie 29 ukrainische Soldaten, die ihr Leben verloren haben im Donbass"
    retriever = Retriever(Settings(index_dir=seed_index), encoders)
    # The English words match nothing of the article; their renderings (ukrainisch, soldat, verlor,
    # leb, ...) find the sentence.
    assert not retriever.lexical.scores(question).any()
    rendered = retriever.lexical.term_scores(german_terms(question, ding))
    best = retriever.chunks[int(np.argmax(rendered))]
    assert evidence in retriever.articles[best.article_id].text[best.start : best.end]
    passages, trace = retriever.search(question)
    assert evidence in passages[0].text
    assert trace.hits[0].lexical == rendered.max()


@NEEDS_DING
def test_english_phrase_finds_the_german_compound(seed_index: Path, encoders, ding: Dictionary) -> None:  # type: ignore[no-untyped-def]
    question = "What did the Secretary General say about the concentration?"
    evidence = "Der Generalsekretär der geboren Jens Stoltemberg"
    retriever = Retriever(Settings(index_dir=seed_index), encoders)
    terms = german_terms(question, ding)
    assert "generalsekretar" in terms  # 'Secretary General' as one German word
    holding = [
        i
        for i, c in enumerate(retriever.chunks)
        if "Generalsekretär" in retriever.articles[c.article_id].text[c.start : c.end]
    ]
    scores = retriever.lexical.term_scores({"generalsekretar": 1.0})
    assert holding and set(np.flatnonzero(scores > 0)) == set(holding)
    passages, _ = retriever.search(question)
    assert evidence in passages[0].text


def test_without_the_dictionary_the_bot_answers_and_warns_once(
    seed_index: Path,
    encoders,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(index_dir=seed_index, dictionary=tmp_path / "no-dictionary")
    texts = {}
    with caplog.at_level(logging.WARNING, logger="rag.language.dictionary"):
        for _ in range(2):
            bot = Bot(settings, encoders=encoders)
            answer = bot.ask("How many Ukrainian soldiers died in 2021?")
            assert not answer.abstained and answer.short_answer and "29" in answer.short_answer
            texts = {a: bot.retriever.articles[a].text for a in bot.retriever.articles}
            assert_quotes_verbatim(answer, texts)
            bot.ask("Where did Biden propose to meet Putin?")
    warnings = [r for r in caplog.records if r.name == "rag.language.dictionary"]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "no-dictionary" in message and "apt-get install trans-de-en" in message and "91.9%" in message
