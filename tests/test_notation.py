"""English askers read numbers and dates of a German short answer in English notation; quotes stay verbatim."""

from __future__ import annotations

import pytest

from rag.answering.notation import english


@pytest.mark.parametrize(
    ("german", "shown"),
    [
        ("40.000 Soldaten und 15.000 Kriegsfahrzeuge", "40,000 Soldaten und 15,000 Kriegsfahrzeuge"),
        ("1,2 Millionen Euro", "1.2 million euros"),
        ("2,5 Mrd. Euro", "2.5 billion euros"),
        ("10 Euro", "10 euros"),
        ("15. November 2021", "15 November 2021"),
        ("am 3. März", "am 3 March"),
        ("25 Prozent", "25 percent"),
        ("3,7 Kilometer", "3.7 Kilometer"),
        ("12500 Menschen", "12,500 Menschen"),
        ("im Jahr 2021", "im Jahr 2021"),  # a year is no amount
        ("1:1", "1:1"),
        ("Sonntag, 4.12.2015", "Sonntag, 4.12.2015"),  # a numeric date is left as written
    ],
)
def test_numbers_and_dates_in_english_notation(german: str, shown: str) -> None:
    assert english(german) == shown


def test_the_english_asker_gets_english_numbers_and_the_verbatim_quote(seed_bot) -> None:  # type: ignore[no-untyped-def]
    en = seed_bot.ask("How many troops did Shoigu claim?")
    assert en.answer.splitlines()[0] == "40,000 Soldaten und 15,000 Kriegsfahrzeuge [1]"
    assert en.short_answer == "40.000 Soldaten und 15.000 Kriegsfahrzeuge"  # the extract itself, as in the article
    assert "40.000 Soldaten und 15.000 Kriegsfahrzeuge" in en.citations[0].quote
    de = seed_bot.ask("Wie viele Soldaten will die NATO laut Schoigu einsetzen?")
    assert de.answer.splitlines()[0].startswith("40.000 Soldaten")
