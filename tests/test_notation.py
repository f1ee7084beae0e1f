"""English askers read numbers and dates of a German short answer in English notation; quotes stay verbatim."""

from __future__ import annotations

import pytest

from rag.answering.notation import english, glossed
from rag.language.dictionary import Dictionary
from tests.test_dictionary import TRUPPE

# Lines of the Ding dictionary (2023-01-30; GPL-2+, Frank Richter, TU Chemnitz), as trans-de-en installs them.
REGIERUNG = (
    "Regierung {f} [pol.] | Regierungen {pl} | Exilregierung {f} | Gegenregierung {f} | Zentralregierung {f} :: "
    "government /Gov.; Govt./; administration [Am.] | governments; administrations | government in exile; "
    "exile government | counter-government | central government"
)
RUECKEN = (
    "Beschwerden {pl} [med.] | Altersbeschwerden {pl} | Begleitbeschwerden {pl} | "
    "Brustbeschwerden {pl} | Hauptbeschwerden {pl} | Herzbeschwerden {pl} | "
    "Kreislaufbeschwerden {pl} | Leberbeschwerden {pl}; Leberleiden {n} | Magenbeschwerden {pl} | "
    "Rückenbeschwerden {pl} | Schwangerschaftsbeschwerden {pl} | Unterleibsbeschwerden {pl} | "
    "Verdauungsbeschwerden {pl} | aktuelle Beschwerden | orthostatische Beschwerden | "
    "zunehmende Beschwerden | "
    "Was fehlt Ihnen denn?; Was haben Sie denn für Beschwerden? (beim Arzt) :: "
    "complaints; afflictions; trouble; discomfort; molimina | "
    "complaints of old age | accompanying complaints; concomitant complaints | chest troubles | "
    "chief complaints | heart trouble | circulatory distress | liver trouble | stomach trouble | "
    "back complaints; back trouble | pregnancy compaints; pregnancy discomfort | "
    "pelvic complaints | digestive complaints | current complaints | orthostatic complaints | "
    "progressive symptoms | So what is your trouble? (at the doctor’s)"
)


@pytest.mark.parametrize(
    ("german", "shown"),
    [
        ("40.000 Soldaten und 15.000 Kriegsfahrzeuge", "40,000 Soldaten und 15,000 Kriegsfahrzeuge"),
        ("1,2 Millionen Euro", "1.2 million euros"),
        ("2,5 Mrd. Euro", "2.5 billion euros"),
        ("10 Euro", "10 euros"),
        ("15. November 2021", "15 November 2021"),
        ("am 3. März", "on 3 March"),
        ("25 Prozent", "25 percent"),
        ("3,7 Kilometer", "3.7 kilometres"),
        ("12500 Menschen", "12,500 Menschen"),
        ("im Jahr 2021", "in 2021"),  # a year is no amount: no thousands comma
        ("1:1", "1:1"),
        ("Sonntag, 4.12.2015", "Sonntag, 4.12.2015"),  # a numeric date is left as written
        # units of the measures a question may ask for, times of day, parts of a year, ranges
        ("90 Tonnen", "90 tonnes"),
        ("7.000.000 Quadratkilometer", "7,000,000 square kilometres"),
        ("1.000 Dollar", "1,000 dollars"),
        ("20 Grad", "20 degrees"),
        ("15.05 Uhr", "15:05"),
        ("um 20 Uhr", "um 20:00"),
        ("Im Sommer 1521", "in the summer of 1521"),
        ("Ende 2020", "late 2020"),
        ("400 oder 500 Kilometer", "400 or 500 kilometres"),
        ("30.000 bis 50.000 Soldaten", "30,000 to 50,000 Soldaten"),
        ("zehn Prozent", "ten percent"),
        ("drei Jahre", "three years"),
    ],
)
def test_numbers_and_dates_in_english_notation(german: str, shown: str) -> None:
    assert english(german) == shown


def test_the_english_asker_gets_english_numbers_and_the_verbatim_quote(seed_bot) -> None:  # type: ignore[no-untyped-def]
    en = seed_bot.ask("How many troops did Shoigu claim?")
    # English numbers, and the nouns the dictionary knows glossed (it lacks the compound 'Kriegsfahrzeuge')
    assert en.answer.splitlines()[0] == "40,000 Soldaten (soldiers) und 15,000 Kriegsfahrzeuge [1]"
    assert en.short_answer == "40.000 Soldaten und 15.000 Kriegsfahrzeuge"  # the extract itself, as in the article
    assert "40.000 Soldaten und 15.000 Kriegsfahrzeuge" in en.citations[0].quote
    de = seed_bot.ask("Wie viele Soldaten will die NATO laut Schoigu einsetzen?")
    assert de.answer.splitlines()[0].startswith("40.000 Soldaten und")  # a German asker reads no gloss


def test_units_of_time_after_a_number() -> None:
    assert english("3 Stunden") == "3 hours" and english("vor 2 Jahren") == "vor 2 years"


def test_nouns_of_a_short_answer_are_glossed() -> None:
    d = Dictionary.from_lines([TRUPPE, RUECKEN])
    assert d.gloss("Truppen") == "troops"
    assert glossed("Rückenbeschwerden", d.gloss) == "Rückenbeschwerden (back complaints)"
    assert glossed("40,000 Truppen und Putin", d.gloss) == "40,000 Truppen (troops) und Putin"  # a name it lacks stays
    long = "Truppen, die an der Grenze zur Ukraine stehen sollen"
    assert glossed(long, d.gloss) == long  # a phrase is not glossed word by word


def test_a_gloss_leads_back_to_its_word() -> None:
    d = Dictionary.from_lines([REGIERUNG, RUECKEN])
    # the abbreviation after 'government' is cut off; of two glosses the more common English word leads
    assert d.gloss("Regierung") == "government" and d.gloss("Regierungen") == "governments"
    # a compound's phrase gloss ends in a word that renders the compound's last part
    assert d.gloss("Rückenbeschwerden") == "back complaints"
    assert d.gloss("Leberleiden") is None  # 'liver trouble': 'trouble' renders 'Beschwerden', not '-leiden'
