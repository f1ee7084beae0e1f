"""Numbers and dates of a German short answer in English notation, for English askers.

"40.000 Soldaten" -> "40,000 Soldaten", "1,2 Millionen Euro" -> "1.2 million euros",
"15. November 2021" -> "15 November 2021", "3. März" -> "3 March", "25 Prozent" -> "25 percent",
"3 Stunden" -> "3 hours", "90 Tonnen" -> "90 tonnes", "15.05 Uhr" -> "15:05", "Im Sommer 1521" -> "in the
summer of 1521", "zehn Prozent" -> "ten percent"; its nouns glossed from the dictionary:
"Rückenbeschwerden (back complaints)".
Only the shown short answer is rendered so; the quotes stay verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_MONTHS = {
    "Januar": "January",
    "Jänner": "January",
    "Februar": "February",
    "Feber": "February",
    "März": "March",
    "April": "April",
    "Mai": "May",
    "Juni": "June",
    "Juli": "July",
    "August": "August",
    "September": "September",
    "Oktober": "October",
    "November": "November",
    "Dezember": "December",
}
_SCALES = {
    "Millionen": "million",
    "Million": "million",
    "Mio.": "million",
    "Milliarden": "billion",
    "Milliarde": "billion",
    "Mrd.": "billion",
    "Prozent": "percent",
    "Tausend": "thousand",
}
# Units of time after a number: '3 Stunden' -> '3 hours' (a gloss could pick another sense: 'lessons').
_UNITS = {
    "Sekunden": "seconds",
    "Minuten": "minutes",
    "Stunden": "hours",
    "Stunde": "hour",
    "Tage": "days",
    "Tagen": "days",
    "Tag": "day",
    "Wochen": "weeks",
    "Woche": "week",
    "Monate": "months",
    "Monaten": "months",
    "Monat": "month",
    "Jahre": "years",
    "Jahren": "years",
    "Jahr": "year",
    "Jahrzehnte": "decades",
    "Jahrhunderte": "centuries",
}
# Units of other measures (a gloss could pick another sense: 'Grad' -> 'grade').
_MEASURES = {
    "Meter": "metres",
    "Metern": "metres",
    "Kilometer": "kilometres",
    "Kilometern": "kilometres",
    "Zentimeter": "centimetres",
    "Millimeter": "millimetres",
    "Quadratkilometer": "square kilometres",
    "Quadratkilometern": "square kilometres",
    "Quadratmeter": "square metres",
    "Quadratmetern": "square metres",
    "Hektar": "hectares",
    "Tonnen": "tonnes",
    "Tonne": "tonne",
    "Kilogramm": "kilograms",
    "Kilo": "kilos",
    "Gramm": "grams",
    "Grad": "degrees",
    "Stundenkilometer": "kilometres per hour",
    "Stundenkilometern": "kilometres per hour",
    "Dollar": "dollars",
    "US-Dollar": "US dollars",
    "Franken": "francs",
    "Pfund": "pounds",
    "Kronen": "crowns",
    "Prozentpunkte": "percentage points",
}
# Small numbers written as words: 'zehn Prozent' -> 'ten percent'.
_NUMBER_WORDS = {
    "zwei": "two", "drei": "three", "vier": "four", "fünf": "five", "sechs": "six", "sieben": "seven",
    "acht": "eight", "neun": "nine", "zehn": "ten", "elf": "eleven", "zwölf": "twelve", "zwanzig": "twenty",
    "dreißig": "thirty", "hundert": "a hundred", "tausend": "a thousand",
}  # fmt: skip
_NUMBER_WORD = re.compile(rf"\b({'|'.join(_NUMBER_WORDS)})(?=\s+\S)", re.IGNORECASE)
# 'bis' and 'oder' between two numbers: '30.000 bis 50.000' -> '30,000 to 50,000'.
_BETWEEN = re.compile(r"(?<=\d)\s+(bis|oder|und)\s+(?=\d)")
_BETWEEN_WORDS = {"bis": "to", "oder": "or", "und": "and"}
# A time of day: '15.05 Uhr' -> '15:05', '20 Uhr' -> '20:00'.
_CLOCK = re.compile(r"\b(\d{1,2})(?:[.:](\d{2}))?\s+Uhr\b")
_IN_YEAR = re.compile(r"\b[Ii]m\s+Jahr(?:e)?\s+(?=\d)")
# Part of a year: 'Im Sommer 1521' -> 'in the summer of 1521', 'Ende 2020' -> 'late 2020'.
_SEASONS = {"Frühjahr": "spring", "Frühling": "spring", "Sommer": "summer", "Herbst": "autumn", "Winter": "winter"}
_SEASON = re.compile(rf"\b(?:[Ii]m\s+)?({'|'.join(_SEASONS)})\s+(?=\d{{4}})")
_PART = re.compile(r"\b(Anfang|Mitte|Ende)\s+(?=\d{4})")
_PARTS = {"Anfang": "early", "Mitte": "mid-", "Ende": "late"}
_ON_DAY = re.compile(rf"\b[Aa]m\s+(?=\d{{1,2}}\.\s*(?:{'|'.join(_MONTHS)})\b)")
_DATE = re.compile(rf"\b(\d{{1,2}})\.\s*({'|'.join(_MONTHS)})\b")
# A German number: thousands grouped by '.', decimals after ','. '2021' and '3,5' alike.
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?(?![\w]|[.,]\d)")
_AFTER_NUMBER = {**_SCALES, **_UNITS, **_MEASURES}
_SCALE = re.compile(
    rf"(\d|\b(?:{'|'.join(w.split()[-1] for w in _NUMBER_WORDS.values())}))\s+"
    rf"({'|'.join(re.escape(s) for s in sorted(_AFTER_NUMBER, key=len, reverse=True))})(?=\s|$|[.,;:)])"
)
_NOUN = re.compile(r"(?<![\w-])[A-ZÄÖÜ][a-zäöüß]{2,}(?:-[A-ZÄÖÜ]?[a-zäöüß]+)*(?![\w-])")
GLOSSED_WORDS = 6  # a short answer of more words is a phrase, not glossed
_EURO = re.compile(r"(\b(?:million|billion|thousand)\s+)Euro\b|(?<=\d)\s+Euro\b")


def english(text: str) -> str:
    """``text`` with its numbers, dates, times of day, scale and unit words and 'Euro' in English notation."""
    out = _CLOCK.sub(lambda m: f"{int(m[1]):02d}:{m[2] or '00'}", text)
    out = _IN_YEAR.sub("in ", out)
    out = _SEASON.sub(lambda m: f"in the {_SEASONS[m[1]]} of ", out)
    out = _PART.sub(lambda m: _PARTS[m[1]] + ("" if m[1] == "Mitte" else " "), out)
    out = _ON_DAY.sub("on ", out)
    out = _DATE.sub(lambda m: f"{m[1]} {_MONTHS[m[2]]}", out)
    out = _BETWEEN.sub(lambda m: f" {_BETWEEN_WORDS[m[1]]} ", out)
    out = _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m[1].lower()], out)
    out = _NUMBER.sub(_number, out)
    out = _SCALE.sub(lambda m: f"{m[1]} {_AFTER_NUMBER[m[2]]}", out)
    return _EURO.sub(lambda m: f"{m[1]}euros" if m[1] else " euros", out)


def _number(m: re.Match[str]) -> str:
    whole = m[1].replace(".", ",") if "." in m[1] else m[1]
    if len(m[1]) >= 5 and "." not in m[1] and not m[2]:
        whole = f"{int(m[1]):,}"  # '12500' -> '12,500'; a year such as '2021' stays as it is
    return f"{whole}.{m[2]}" if m[2] else whole


def glossed(text: str, gloss: Callable[[str], str | None]) -> str:
    """A short German answer with an English gloss after each capitalised word the dictionary
    knows: 'Rückenbeschwerden' -> 'Rückenbeschwerden (back complaints)'. Words it glosses as
    themselves ('Donbass', 'Euro') and answers longer than ``GLOSSED_WORDS`` words stay as they are."""
    if len(text.split()) > GLOSSED_WORDS:
        return text

    def add(m: re.Match[str]) -> str:
        found = gloss(m[0])
        return f"{m[0]} ({found})" if found and found.lower() != m[0].lower() else m[0]

    return _NOUN.sub(add, text)
