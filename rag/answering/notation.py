"""Numbers and dates of a German short answer in English notation, for English askers.

"40.000 Soldaten" -> "40,000 Soldaten", "1,2 Millionen Euro" -> "1.2 million euros",
"15. November 2021" -> "15 November 2021", "3. März" -> "3 March", "25 Prozent" -> "25 percent",
"3 Stunden" -> "3 hours"; its nouns glossed from the dictionary: "Rückenbeschwerden (back complaints)".
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
}
_DATE = re.compile(rf"\b(\d{{1,2}})\.\s*({'|'.join(_MONTHS)})\b")
# A German number: thousands grouped by '.', decimals after ','. '2021' and '3,5' alike.
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?(?![\w]|[.,]\d)")
_AFTER_NUMBER = {**_SCALES, **_UNITS}
_SCALE = re.compile(rf"(?<=\d)\s+({'|'.join(re.escape(s) for s in _AFTER_NUMBER)})(?=\s|$|[.,;:)])")
_NOUN = re.compile(r"(?<![\w-])[A-ZÄÖÜ][a-zäöüß]{2,}(?:-[A-ZÄÖÜ]?[a-zäöüß]+)*(?![\w-])")
GLOSSED_WORDS = 6  # a short answer of more words is a phrase, not glossed
_EURO = re.compile(r"(\b(?:million|billion|thousand)\s+)Euro\b|(?<=\d)\s+Euro\b")


def english(text: str) -> str:
    """``text`` with its numbers, dates, scale words and 'Euro' in English notation."""
    out = _DATE.sub(lambda m: f"{m[1]} {_MONTHS[m[2]]}", text)
    out = _NUMBER.sub(_number, out)
    out = _SCALE.sub(lambda m: f" {_AFTER_NUMBER[m[1]]}", out)
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
