"""Short-answer extraction from one evidence sentence: numbers with units, dates, names, places.

Everything returned is a verbatim span of the sentence with its offsets, or None when the
sentence does not make the answer clear (the caller then leads with the sentence itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answering import quantity
from rag.types import Question

_NUMWORDS = (
    "zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|dreißig|"
    "hundert|tausend|dutzend|dutzende|dutzenden|hunderte|hunderten|tausende|tausenden|two|three|four|five|six|"
    "seven|eight|"
    "nine|ten|eleven|twelve|twenty|thirty|hundred|thousand|dozens|hundreds|thousands"
)
# A clock or game time ('4:51', '3:08') is one number, not '4'.
_NUMBER = (
    rf"(?:\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?!\d)|\d{{1,3}}(?:[.,\u202f ]\d{{3}})+(?:,\d+)?|\d+(?:[.,]\d+)?|"
    rf"(?:{_NUMWORDS})\b)"
)
_SCALE = r"(?:\s*%|\s+(?:Millionen|Million|Mio\.|Milliarden|Mrd\.|million|billion|thousand|Prozent|percent|%))?"
# '30.000 bis 50.000', '3 to 5': a range is one answer.
_RANGE_CASED = rf"\s*(?:-|–|bis|to)\s*{_NUMBER}|"
_MOD = (
    r"(?:(?:mindestens|etwa|rund|ungefähr|über|fast|knapp|mehr als|weniger als|bis zu|"
    r"at least|about|around|nearly|over|more than|almost)\s+)?"
)
# A German noun phrase after the number: lowercase adjectives, then a capitalised noun.
_UNIT = r"(?:\s+(?:[a-zäöüß][\w-]*\s+){0,2}[A-ZÄÖÜ][\w-]*|\s+[a-z][\w-]*(?:\s+[a-z][\w-]*)?)?"
_COUNT_CASED = re.compile(rf"(?<![\w.\-–:]){_MOD}(?i:{_NUMBER}(?:{_RANGE_CASED})){_SCALE}{_UNIT}")
_YEAR = re.compile(r"^(1[89]\d\d|20\d\d)$")
_YEARS = re.compile(r"\b(?:1\d|20)\d\d\b")
_YEAR_WORD = r"(?<![\d.,])(?:1\d\d\d|20\d\d)(?!\d)"
_MONTH = (
    r"(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember|"
    r"January|February|March|May|June|July|October|December)"
)
# 'Sommer 1521', 'Anfang 2020', 'late 1990': part of the year is part of the answer.
_SEASON = (
    r"(?:(?:Frühjahr|Frühling|Sommer|Herbst|Winter|Anfang|Mitte|Ende|spring|summer|autumn|fall|winter|early|mid|"
    r"late)\s+)?"
)
# Starts at a word boundary: 'on' in 'Saison 2016' or 'in' in 'Gewinn 2016' is no preposition.
_DATE = re.compile(
    rf"\b(?:(?:am|im|seit|bis|vom|on|in|since|until)\s+)?(?:\d{{1,2}}\.\s*{_MONTH}(?:\s+\d{{4}})?|{_MONTH}\s+\d{{4}}|"
    rf"{_MONTH}\s+\d{{1,2}}(?!\d)(?:,\s*\d{{4}})?|"
    # '1870 bis 1939', 'from 1870 to 1939': a span of years is one answer.
    rf"(?:(?:von|from|between|zwischen)\s+)?{_YEAR_WORD}\s*(?:-|–|bis|to|and|und)\s*{_YEAR_WORD}|"
    rf"(?:(?:im\s+Jahr(?:e)?|in\s+den|in|seit|bis|von|ab)\s+)?{_SEASON}{_YEAR_WORD}(?:er(?:\s+Jahren?)?)?|"
    # an early year: 'im Jahr 753', '753 v. Chr.', 'in the year 800'
    r"(?:im\s+Jahr(?:e)?|in\s+the\s+year)\s+\d{1,4}(?:\s+(?:v\.|n\.)\s*(?:Chr\.|u\.\s*Z\.))?|"
    r"\d{1,4}\s+(?:v\.|n\.)\s*(?:Chr\.|u\.\s*Z\.)|\d{1,4}\s+(?:BC|AD|BCE)\b|"
    r"(?:in|nach|vor|innerhalb)\s+(?:etwa\s+|rund\s+|knapp\s+)?(?:einer|einem|zwei|drei|vier|fünf|sechs|\d+)\s+"
    r"(?:Wochen?|Monaten?|Tagen?|Jahren?|Stunden?)|in\s+den\s+kommenden\s+(?:Monaten|Wochen|Tagen|Jahren))",
    re.IGNORECASE,
)
_ROLE = (
    r"(?:Verteidigungsminister|Außenminister|Innenminister|Minister|Präsident|Präsidentin|Kanzler|Kanzlerin|"
    r"Generalsekretär|Sprecher|Sprecherin|Chef|Chefin|Regierungschef|Bürgermeister|Staatschef|Premierminister|"
    r"Kremlchef|Vorsitzende|Vorsitzender|Militäranalysten|Analyst|Experte|President|Minister|Secretary|"
    r"spokesman|spokeswoman|Chancellor|Prime Minister)"
)
# A name word, accented letters included ('Baldizón', 'Arsène', 'Łukasz').
_NAME_TOKEN = r"[A-ZÀ-ÖØ-ÞĀ-Ž][a-zß-öø-ÿĀ-ž]+(?:-[A-ZÀ-ÖØ-ÞĀ-Ž][a-zß-öø-ÿĀ-ž]+)?"
_ROLE_NAME = re.compile(
    rf"{_ROLE}(?:\s+(?:der|des|von)\s+\w+)?(?:,\s+({_NAME_TOKEN}(?:\s+\w+){{0,2}}),|\s+({_NAME_TOKEN}(?:\s+{_NAME_TOKEN})*))"
)
_FULL_NAME = re.compile(rf"(?<![\w\"„“])({_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{1,2}})")
_ROLE_WORD = re.compile(
    r"(?<![\w-])(?:[\w-]*(?:minister|ministerin|sekretär|sekretärin|präsident|präsidentin|kanzler|kanzlerin|"
    r"botschafter|botschafterin|sprecher|sprecherin|bürgermeister|bürgermeisterin|vorsitzender?|kommandeur)|"
    r"(?:Kreml|Regierungs|Staats|Armee|Partei|Militär|Geheimdienst)chef(?:in)?|General|Direktor(?:in)?|"
    r"(?:(?:Defen[cs]e|Foreign|Prime|Interior)\s+)?Minister|Secretary(?:[ -]General)?|President|Chancellor|"
    r"Ambassador|spokes(?:man|woman|person)|Mayor|Chairman)(?![\w-])"
    # with what the office is of: 'Bundesminister des Innern', 'Secretary of State'
    r"(?-i:(?:\s+(?:des|der)\s+[A-ZÄÖÜ][\w-]+|\s+of\s+(?:the\s+)?[A-Z][\w-]+(?:\s+[A-Z][\w-]+)?)?)",
    re.IGNORECASE,
)
# Endings of German common nouns, which start no personal name ('Konzentration Russlands').
_NOUN_ENDING = re.compile(r"(?:ung|ion|heit|keit|schaft|tät|ismus|nis|tum)$")
_NUMBER_WORDS = {
    "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
    "elf": 11, "zwölf": 12, "zwanzig": 20, "dreißig": 30, "hundert": 100, "tausend": 1000, "two": 2,
    "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "twenty": 20, "thirty": 30, "hundred": 100, "thousand": 1000,
}  # fmt: skip
# Last words of 'in/im/nach ...' phrases that are times or states, not places ('in den kommenden Monaten').
_NOT_PLACES = {
    "Jahr", "Jahre", "Jahren", "Monat", "Monate", "Monaten", "Woche", "Wochen", "Tag", "Tage", "Tagen",
    "Stunde", "Stunden", "Minuten", "Zeit", "Zukunft", "Vergangenheit", "Leben", "Nähe", "Folge", "Lage",
}  # fmt: skip
_PLACE = re.compile(
    r"\b(?:in|nach|aus|im|bei|an\s+der|an\s+den|to|from|at|near)\s+(?:(?:der|dem|den|einem|einer|the)\s+)?"
    r"(?:[a-zäöüß]+\s+)?[A-ZÄÖÜ][\w-]+(?:\s+[A-ZÄÖÜ][\w-]+)?"
)
# Capitalised words that start many German noun phrases but are not names.
_NOT_NAMES = {
    "Die",
    "Der",
    "Das",
    "Den",
    "Dem",
    "Des",
    "Ein",
    "Eine",
    "Im",
    "In",
    "Laut",
    "Nach",
    "Während",
    "Es",
    "Er",
    "Sie",
    "Wir",
    "Zwei",
    "Drei",
    "Russland",
    "Ukraine",
    "Moskau",
    "Kreml",
    "Kremls",
    "Vereinigten",
    "Staaten",
    "USA",
    "NATO",
    "Nato",
    "Minister",
    "Leben",
    "Jahr",
    "Grenzen",
    "Westgrenzen",
}


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str
    kind: str = ""  # 'role-name' for a name right after an office ('Außenminister Kuleba')


# Capitalised words that open a new clause or phrase: a run of names ends before them ('Putin Nach der
# Belagerung' -> 'Putin').
_CLAUSE_OPENERS = {
    "Nach", "Laut", "Während", "Im", "In", "Am", "Die", "Der", "Das", "Den", "Dem", "Des", "Ein", "Eine", "Es",
    "Er", "Sie", "Wir", "Mit", "Bei", "Von", "Vom", "Zu", "Zum", "Zur", "Auf", "Aus", "Als", "Auch", "Aber",
    "Und", "Doch", "Dann", "Heute", "Seit", "Vor", "Über", "Unter", "Trotz", "Wegen", "Obwohl", "Wenn", "Weil",
    "Dass", "Dies", "Diese", "Dieser", "The", "After", "On", "At", "For", "But", "And", "This",
}  # fmt: skip


def _name_end(sentence: str, start: int, end: int) -> int:
    """``end`` moved back before trailing words that open a new clause rather than continue the name."""
    words = list(re.finditer(r"\S+", sentence[start:end]))
    while len(words) > 1 and words[-1].group(0) in _CLAUSE_OPENERS:
        words.pop()
    return start + words[-1].end() if words else end


def typed_spans(sentence: str, question: Question) -> list[Span]:
    """The answer-shaped spans of ``sentence`` for what ``question`` asks (none for an untyped one)."""
    if question.asks == "other":
        return []
    return candidates(sentence, question.asks, question.text, question.measure, question.target)


def candidates(
    sentence: str, qtype: str, question: str, measure: str | None = None, target: str | None = None
) -> list[Span]:
    """Answer-shaped spans of ``sentence`` for ``qtype``, in reading order; with ``measure`` (what kind
    of quantity is asked, ``quantity.asked``) only phrases of that kind; with ``target`` (what a 'how
    many' counts) no amount of money, share or time unless the target is one."""
    if measure in quantity.NUMERIC:
        spans = [_to_unit(s) for s in _numbers(sentence, question) if quantity.fits(measure, s.text)]
        for a, b in quantity.extra_phrases(measure, sentence):
            if not any(s.start <= a < s.end for s in spans):
                spans.append(Span(a, b, sentence[a:b]))
        return sorted(spans, key=lambda s: s.start)
    if qtype == "count":
        spans = _numbers(sentence, question)
        about = target or (question if _HOW_MANY.search(question) else None)
        return [s for s in spans if not quantity.foreign(about, s.text)] if about and measure is None else spans
    if qtype == "when":
        asked_years = set(_YEARS.findall(question))  # 'fewer deaths than in 2021': 2021 is not the answer
        spans = [_span(m, sentence) for m in _DATE.finditer(sentence)]
        spans = [s for s in spans if not set(_YEARS.findall(s.text)) & asked_years]
        return [s for s in spans if quantity.fits(measure, s.text)] if measure == "year" else spans
    if qtype == "role":
        return [Span(m.start(), m.end(), m.group(0)) for m in _ROLE_WORD.finditer(sentence)]
    if qtype == "who":
        spans = []
        for m in _ROLE_NAME.finditer(sentence):
            end = _name_end(sentence, m.start(), m.end() - (m.group(0).endswith(",")))
            spans.append(Span(m.start(), end, sentence[m.start() : end], "role-name"))
        for m in _FULL_NAME.finditer(sentence):
            if m.group(1).split()[0] in _NOT_NAMES or m.start(1) == 0:
                continue
            if any(s.start <= m.start(1) < s.end for s in spans):
                continue
            # 'Organisation English Heritage' -> 'English Heritage': a common noun starts no name.
            start = m.start(1)
            for word in re.finditer(r"\S+", m.group(1)):
                if not _NOUN_ENDING.search(word.group(0)):
                    break
                start = m.start(1) + word.end() + 1
            end = _name_end(sentence, start, m.end(1))
            if start < end:
                spans.append(Span(start, end, sentence[start:end]))
        return sorted(spans, key=lambda s: s.start)
    if qtype == "where":
        return [_span(m, sentence) for m in _PLACE.finditer(sentence) if m.group(0).split()[-1] not in _NOT_PLACES]
    return []


_DAY_OR_MONTH = re.compile(rf"\b{_MONTH}\b|\b\d{{1,2}}\.\s*\d{{1,2}}\.", re.IGNORECASE)
_CALENDAR = re.compile(rf"{_DAY_OR_MONTH.pattern}|\b(?:1[89]|20)\d\d\b", re.IGNORECASE)


def is_calendar_date(text: str) -> bool:
    """A month, a day like '12.3.' or a year: 'am 13. April', 'April 2021', '1835'."""
    return bool(_CALENDAR.search(text))


def names_day_or_month(text: str) -> bool:
    """A month or a day like '12.3.': 'am 10. September', 'Mai 2021'; not a bare year."""
    return bool(_DAY_OR_MONTH.search(text))


_COUNT_HEAD = re.compile(rf"^(?:{_MOD})?(?i:{_NUMBER}(?:{_RANGE_CASED})){_SCALE}\s*")


def counted(text: str) -> str:
    """What a number phrase counts: 'etwa 100.000 Soldaten' -> 'Soldaten' (the phrase itself when
    nothing follows the number). Compared with a question's 'how many X', the number would only add noise."""
    rest = _COUNT_HEAD.sub("", text, count=1).strip()
    return rest or text


def stated_as(sentence: str, question: str, spans: list[Span]) -> Span | None:
    """The number phrase the sentence gives as the size of something the question names: 'Wie groß
    ist die Streitmacht?' in '... bilden eine Streitmacht von etwa 100.000 Soldaten'."""
    for word in dict.fromkeys(w for w in re.findall(r"\w+", question) if len(w) >= 5 and not w.isdigit()):
        pattern = rf"\b{re.escape(word)}\w{{0,2}}\s+(?:von|of|mit|with|auf|at)\s+"
        for m in re.finditer(pattern, sentence, re.IGNORECASE):
            found = next((sp for sp in spans if sp.start == m.end()), None)
            if found is not None:
                return found
    return None


def join_coordinated(sentence: str, spans: list[Span], chosen: Span) -> Span:
    """Extend a number phrase over one directly coordinated sibling: '40.000 Soldaten und 15.000 Kriegsfahrzeuge'."""
    for other in spans:
        if other.start > chosen.end and re.fullmatch(r"\s*(?:und|and|sowie|,)\s*", sentence[chosen.end : other.start]):
            return Span(chosen.start, other.end, sentence[chosen.start : other.end])
        if other.end < chosen.start and re.fullmatch(r"\s*(?:und|and|sowie|,)\s*", sentence[other.end : chosen.start]):
            return Span(other.start, chosen.end, sentence[other.start : chosen.end])
    return chosen


def _span(m: re.Match[str], sentence: str, group: int = 0) -> Span:
    start, end = m.start(group), m.end(group)
    text = sentence[start:end].rstrip(" ,;:.")
    return Span(start, start + len(text), text)


def numbers_in(text: str) -> list[float]:
    """The values of the numbers in ``text``, in order: '40.000' and '40,000' are both 40000."""
    out = []
    for m in re.finditer(
        rf"\d{{1,3}}(?:[.,\u202f ]\d{{3}})+(?![\d])|\d+(?:[.,]\d+)?|\b(?:{'|'.join(_NUMBER_WORDS)})\b", text, re.I
    ):
        word = m.group(0).lower()
        if word in _NUMBER_WORDS:
            out.append(float(_NUMBER_WORDS[word]))
        elif re.fullmatch(r"\d{1,3}(?:[.,\u202f ]\d{3})+", word):
            out.append(float(re.sub(r"\D", "", word)))
        else:
            out.append(float(word.replace(",", ".")))
    return out


_HOW_MANY = re.compile(r"\bhow\s+many\b|\bwie\s*viele\b|\bwieviele\b|\banzahl\b", re.IGNORECASE)


def _to_unit(span: Span) -> Span:
    """A measured phrase ends at its unit unless a noun follows: '10 Prozent' of '10 Prozent beherrscht',
    but '56,2% Katholiken' (what the share is of)."""
    end = quantity.unit_end(span.text)
    if span.text[end:].strip()[:1].isupper():
        return span
    return Span(span.start, span.start + end, span.text[:end], span.kind)


def _numbers(sentence: str, question: str) -> list[Span]:
    """The number phrases of ``sentence`` but years and the numbers the question states ('the force of
    two armies' -> not 'zwei Armeen')."""
    asked = set(numbers_in(question))
    spans = [_span(m, sentence) for m in _COUNT_CASED.finditer(sentence)]
    return [s for s in spans if not _is_year(s.text) and not set(numbers_in(s.text)[:1]) & asked]


# Words after a year that show it is one, not a count: '2010 dem chinesischen Autobauer', '2012 zwölf Menschen'.
_AFTER_YEAR = {"der", "die", "das", "dem", "den", "des", "ein", "eine", "einem", "einen", "einer", "the", "a", "an"}


def _is_year(text: str) -> bool:
    """A bare year, or a year followed by words that are not a counted noun ('2020 gewesen')."""
    words = text.split()
    if not _YEAR.match(words[0]):
        return False
    if len(words) > 1 and (words[1].lower() in _AFTER_YEAR or words[1].lower() in _NUMBER_WORDS):
        return True
    return len(words) == 1 or not words[-1][:1].isupper()


# Nationalities in either language, by a stem both spellings share: 'Russian' / 'russische' / 'Russen'.
_ORIGINS = {
    "russ": r"russ(?:ian|isch\w*|e|en|land)",
    "ukrain": r"ukrain(?:ian|isch\w*|er|ern|e)",
    "america": r"(?:american|amerikanisch\w*|amerikaner\w*|us)",
    "german": r"(?:german|deutsch\w*|deutschland)",
    "french": r"(?:french|französisch\w*|franzosen|frankreich)",
    "british": r"(?:british|britisch\w*|briten|großbritannien)",
    "chinese": r"(?:chinese|chinesisch\w*|chinesen|china)",
    "polish": r"(?:polish|polnisch\w*|polen)",
    "belarus": r"(?:belarusian|belarussisch\w*|weißrussisch\w*|belarus)",
}
_ORIGIN = {key: re.compile(rf"(?<![\w-]){pattern}(?![\w-])", re.IGNORECASE) for key, pattern in _ORIGINS.items()}


def origins(text: str) -> set[str]:
    """The nationalities a phrase names ('29 ukrainische Soldaten' -> {'ukrain'})."""
    return {key for key, pattern in _ORIGIN.items() if pattern.search(text)}


def conflicting_origin(target: str, phrase: str) -> bool:
    """'Russian soldiers' is not answered by '29 ukrainische Soldaten': both name a nationality, and
    none is the same."""
    asked, found = origins(target), origins(phrase)
    return bool(asked and found and not asked & found)
