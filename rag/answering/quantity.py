"""What kind of quantity a question asks for, and whether a number phrase is one.

'How much did Geely pay for Volvo?' asks for money, so '16,8 Prozent' does not answer it and a
passage holding no amount of money does not either; 'In which year ...' asks for a year, not
'26. März'. The question side reads cue words in English and German; the phrase side reads the unit
after the number (or before it: '$ 5', '€ 20'). Nothing here is fitted: the word lists are the
languages' ordinary units.
"""

from __future__ import annotations

import re

# Units by measure, as they follow a number in German or English text (lowercase, whole words).
_UNITS = {
    "money": r"euro|euros|eur|€|dollar|dollars|us-dollar|usd|\$|franken|fr\.|chf|pfund|pounds?|£|yen|yuan|rubel|"
    r"roubles?|rubles?|kronen|schilling|mark|d-mark|cent|cents|lire|pesos?|rupien|rupees?",
    "percent": r"prozent|%|percent|per\s+cent|prozentpunkte|percentage\s+points?|promille",
    "time": r"jahre|jahren|jahr|monate|monaten|monat|wochen|woche|tage|tagen|tag|stunden|stunde|minuten|minute|"
    r"sekunden|sekunde|years?|months?|weeks?|days?|hours?|minutes?|seconds?|jahrzehnte|jahrzehnten|decades?|"
    r"jahrhunderte|jahrhunderten|centuries",
    "length": r"kilometer|kilometern|km|meter|metern|m|zentimeter|cm|millimeter|mm|meilen|miles?|feet|foot|fuß|"
    r"zoll|inch|inches|yards?|kilometres?|kilometers?|metres?|meters?|centimetres?|lichtjahre",
    "area": r"quadratkilometer|quadratkilometern|km²|km2|quadratmeter|quadratmetern|m²|m2|hektar|ha|"
    r"square\s+(?:kilometres?|kilometers?|miles?|metres?|meters?|feet)|acres?|sq\s+mi",
    "weight": r"tonnen|tonne|t|kilogramm|kilo|kg|gramm|g|milligramm|mg|tons?|tonnes?|kilograms?|grams?|"
    r"ounces?|unzen|zentner",
    "power": r"watt|kilowatt|megawatt|gigawatt|terawatt|w|kw|mw|gw|ps|horsepower|hp|kilowattstunden|kwh|"
    r"megawattstunden|mwh|gigawattstunden|gwh|terawattstunden|twh|joule|kalorien|calories",
    "speed": r"km/h|kilometer\s+pro\s+stunde|stundenkilometer|stundenkilometern|mph|knoten|knots|m/s|"
    r"miles\s+per\s+hour|kilometres\s+per\s+hour|kilometers\s+per\s+hour|meilen\s+pro\s+stunde|mach",
    "temperature": r"grad|°c|°f|°|celsius|fahrenheit|kelvin|degrees?",
    "clock": r"uhr|a\.m\.|p\.m\.|o'clock",
}
_UNIT_AFTER = {k: re.compile(rf"(?:{v})(?![\w/²])", re.IGNORECASE) for k, v in _UNITS.items()}
_UNIT_NAMED = {k: re.compile(rf"(?<!\w)(?:{v})(?![\w/²])", re.IGNORECASE) for k, v in _UNITS.items()}
_BEFORE_NUMBER = {"money": re.compile(r"(?:€|\$|£|US-\$|USD|EUR|CHF)\s*$", re.IGNORECASE)}
_SCALE = re.compile(
    r"(?:Millionen|Million|Mio\.?|Milliarden|Milliarde|Mrd\.?|Billionen|Tausend|million|billion|thousand|bn)\s+",
    re.IGNORECASE,
)
_NUMBER_START = re.compile(
    r"\d[\d.,:\u202f ]*\d|\d|\b(?:ein|eine|einen|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|"
    r"dreißig|hundert|tausend|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|hundred|"
    r"thousand)\b",
    re.IGNORECASE,
)
# Words between a number and its unit that leave the unit the number's: 'knapp 20 Millionen Euro'.
_FILLER = re.compile(
    r"(?:(?:(?:und|bis|oder|to|and|or)\s+|[-–]\s*)(?:\d[\d.,]*|[a-zäöüß]+(?:zig|zehn|hundert|tausend)?)\s+)?",
    re.IGNORECASE,
)
_AGE_WORD = re.compile(r"\w+jährige[nmrs]?\b|\w+-jährige[nmrs]?\b|[\w-]+-year-old\b", re.IGNORECASE)
# An age without its unit stands in brackets or between commas after a name: 'Manning (39)', 'Manning, 39,'.
_AGE = re.compile(rf"{_AGE_WORD.pattern}|(?<=\()\d{{1,3}}(?=\))|(?<=,\s)\d{{1,3}}(?=,)", re.IGNORECASE)
_FRACTION = re.compile(r"\b(?:hälfte|drittel|viertel|fünftel|zehntel|half|third|quarter)\b", re.IGNORECASE)
_FRACTION_PHRASE = re.compile(
    r"\b(?:(?:über|mehr\s+als|fast|knapp|etwa|rund|gut|more\s+than|over|about|nearly|almost)\s+)?"
    r"(?:(?:ein|eine|einem|zwei|drei|vier|die|der|one|two|three|a|half)\s+)?(?:Hälfte|Drittel|Viertel|Fünftel|"
    r"Zehntel|half|third|thirds|quarter|quarters)\b",
    re.IGNORECASE,
)
# A year: four digits, or fewer after 'im Jahr' or before 'v. Chr.' ('im Jahr 753'), or a century.
_A_YEAR = re.compile(
    r"(?<![\d.,])(?:1\d\d\d|20\d\d)(?![\d.,])|\b(?:jahre?|year|anno)\s+\d{1,4}\b|"
    r"\b\d{1,4}\s+(?:v\.|n\.)\s*(?:chr\.|u\.\s*z\.)|\b\d{1,4}\s+(?:bc|ad|bce|ce)\b|jahrhundert|century",
    re.IGNORECASE,
)

# Question cues, in order: the first that matches decides. Read on the question lower-cased.
_ASKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("clock", (
        r"\bum\s+wie\s*viel\s+uhr\b", r"\b(?:zu|um)\s+welche[r]?\s+uhrzeit\b",
        r"\bwhat\s+time\s+(?:does|did|do|will|is|was|would)\b", r"\bat\s+what\s+(?:time|hour)\b",
    )),
    ("year", (
        r"\b(?:what|which)\s+year\b", r"\bin\s+welchem\s+jahr\b", r"\bwelches\s+jahr\b", r"\bseit\s+welchem\s+jahr\b",
        r"\bwhat\s+century\b", r"\bwelchem\s+jahrhundert\b",
    )),
    ("percent", (
        r"\bwhat\s+(?:percentage|percent|share|proportion|fraction)\b", r"\bhow\s+many\s+percent\b",
        r"\bwie\s*viel\s+prozent\b", r"\bwelche[nrs]?\s+(?:anteil|prozentsatz|quote)\b",
        r"\bwie\s+(?:hoch|groß)\s+(?:ist|war|sind)\s+(?:der|die)\s+"
        r"(?:anteil|quote|rate|prozentsatz|arbeitslosenquote|wahlbeteiligung)\b",
        r"\bwhat\s+was\s+the\s+turnout\b",
    )),
    ("age", (
        r"\bhow\s+old\b", r"\bwie\s+alt\b", r"\bat\s+what\s+age\b", r"\bin\s+welchem\s+alter\b",
        r"\bmit\s+wie\s*viel(?:en)?\s+jahren\b",
    )),
    ("money", (
        r"\bhow\s+much\s+(?:money|did|does|do|was|is|were|will|would|has|have|had)\b.*\b(?:pay|paid|cost|spend|"
        r"spent|earn|earned|raise|raised|invest|invested|worth|sell|sold|charge|charged|receive|received|fine[ds]?|"
        r"owe|lose|lost)\b",
        r"\bhow\s+much\s+(?:money|revenue|profit|turnover|funding|debt)\b", r"\bhow\s+expensive\b",
        r"\bwhat\s+(?:price|cost|sum|amount\s+of\s+money|revenue|turnover|budget|salary|fee|fine)\b",
        r"\bwie\s+teuer\b", r"\bfür\s+wie\s*viel\b",
        r"\bwie\s*viel\s+(?:geld|umsatz|gewinn|kostet|kosten|kostete|kosteten|bezahlt|zahlt|zahlte|zahlten|"
        r"verdient|verdiente|investiert|ausgegeben|eingenommen)\b",
        r"\bwie\s*viel\b.*\b(?:bezahlt|gezahlt|gekostet|investiert|ausgegeben|eingenommen|verdient)\b",
        r"\bwelchen\s+(?:preis|betrag|umsatz|gewinn)\b",
        r"\bwhat\s+(?:did|does|do|will|would)\s+.*\bcost\b", r"\bwas\s+(?:kostet|kostete|kosten|kosteten)\b",
        r"\bwas\s+(?:hat|haben)\s+.*\bgekostet\b", r"\bhow\s+much\s+(?:is|was|are|were)\s+.*\bworth\b",
        r"\bwie\s*viel\s+(?:ist|war|sind|waren)\s+.*\bwert\b",
        r"\bwie\s+hoch\s+(?:ist|war|sind|waren)\s+(?:der|die|das)\s+(?:preis|umsatz|gewinn|schaden|betrag|strafe|"
        r"kosten|budget|gehalt|verlust|schulden)\b",
    )),
    ("speed", (
        r"\bhow\s+fast\b", r"\bwhat\s+(?:speed|velocity)\b", r"\bwie\s+schnell\b", r"\bwelche\s+geschwindigkeit\b",
        r"\bmit\s+welcher\s+geschwindigkeit\b",
    )),
    ("temperature", (
        r"\bhow\s+(?:hot|cold|warm)\b", r"\bwhat\s+temperature\b", r"\bwie\s+(?:heiß|kalt|warm)\b",
        r"\b(?:bei\s+)?welche[r]?\s+temperatur\b",
    )),
    ("power", (
        r"\bwhat\s+(?:power|output)\b", r"\bhow\s+much\s+(?:power|energy|electricity)\b",
        r"\bwie\s*viel\s+(?:leistung|energie|strom)\b", r"\bwelche\s+leistung\b",
        r"\bwie\s+(?:stark|leistungsstark)\s+ist\s+(?:der|die|das)\s+(?:motor|anlage|kraftwerk|reaktor)\b",
    )),
    ("weight", (
        r"\bhow\s+heavy\b", r"\bhow\s+much\s+(?:does|did)\s+.*\bweigh\b", r"\bwhat\s+weight\b", r"\bwie\s+schwer\b",
        r"\bwie\s*viel\s+wiegt\b", r"\bwelches\s+gewicht\b",
    )),
    ("area", (
        r"\bhow\s+(?:large|big)\s+(?:is|was)\s+(?:the\s+)?area\b", r"\bwie\s+groß\s+ist\s+die\s+fläche\b",
        r"\bwelche\s+fläche\b",
    )),
    ("length", (
        r"\bhow\s+(?:far|tall|deep|wide)\b", r"\bwhat\s+(?:distance|height|length|depth|range)\b",
        r"\bwie\s+(?:weit|tief|breit)\b", r"\bwelche\s+(?:entfernung|distanz|höhe|länge|tiefe|reichweite)\b",
        r"\bwie\s+lang\s+(?:ist|war|sind|waren|wird)\b",
        # 'how long' asks for a time unless what is long is a thing: 'How long is the Neckar bridge?'
        r"\bhow\s+long\s+(?:is|was|are|were|will)\s+(?:the\s+)?(?:[\w-]+\s+){0,3}?(?:river|road|bridge|tunnel|"
        r"border|coast|coastline|line|track|wall|canal|route|runway|fence|pipeline|trail|street|railway)s?\b",
    )),
)  # fmt: skip
_ASKS_RE = tuple((name, re.compile("|".join(patterns))) for name, patterns in _ASKS)
# Measures answered by a number phrase (a year is answered by a date phrase holding one).
NUMERIC = frozenset(_UNITS) - {"time"} | {"age"}


def extra_phrases(measure: str, sentence: str) -> list[tuple[int, int]]:
    """Phrases of ``measure`` that are no number phrase with a unit: 'Sechsjährige', 'Manning (39)',
    'ein Drittel'."""
    pattern = {"age": _AGE, "percent": _FRACTION_PHRASE}.get(measure)
    return [(m.start(), m.end()) for m in pattern.finditer(sentence)] if pattern else []


def asked(question: str) -> str | None:
    """The measure a question asks for: 'money', 'percent', 'age', 'year', 'clock', 'length', 'area',
    'weight', 'power', 'speed', 'temperature', or None (a count of things, or no quantity)."""
    low = " ".join(question.lower().split())
    for name, pattern in _ASKS_RE:
        if pattern.search(low):
            return name
    return None


def of_phrase(text: str) -> str | None:
    """The measure of a number phrase by its unit ('20 Millionen Euro' -> 'money', '3 Stunden' ->
    'time', '40.000 Soldaten' -> None)."""
    return _read(text)[0]


def unit_end(text: str) -> int:
    """Where the number phrase ends with its unit: '10 Prozent beherrscht' -> 10 ('10 Prozent');
    the whole text when it has no unit."""
    return _read(text)[1]


def _read(text: str) -> tuple[str | None, int]:
    m = _NUMBER_START.search(text)
    if m is None:
        return None, len(text)
    for name, pattern in _BEFORE_NUMBER.items():
        if pattern.search(text[: m.start()]):
            return name, len(text)
    at = m.end() + len(text[m.end() :]) - len(text[m.end() :].lstrip())
    for skipped in (_FILLER, _SCALE):  # '20 bis 30', 'Millionen': the unit comes after them
        found = skipped.match(text, at)
        at = found.end() if found else at
    for name, pattern in _UNIT_AFTER.items():
        unit = pattern.match(text, at)
        if unit:
            return name, unit.end()
    return None, len(text)


def fits(measure: str, text: str) -> bool:
    """Whether a phrase of the sentence can answer a question asking for ``measure``."""
    if measure == "year":
        return bool(_A_YEAR.search(text))
    kind = of_phrase(text)
    if measure == "age":
        return kind == "time" or bool(_AGE_WORD.search(text))
    if measure == "percent":
        return kind == "percent" or bool(_FRACTION.search(text))
    if measure == "clock":
        return kind == "clock" or bool(re.search(r"\b\d{1,2}[:.]\d{2}\b", text))
    return kind == measure


def foreign(asked_about: str, text: str) -> bool:
    """A 'how many X' question is not answered by an amount of money, a share, a time or a length
    unless it names such a unit itself ('How many journalists ...?' -> not '30 Jahre'; 'How many
    years ...?' -> '30 Jahre'). ``asked_about``: X, or the whole question. For questions asking no measure."""
    kind = of_phrase(text)
    return kind is not None and kind != "clock" and kind not in _kinds_named(asked_about)


def _kinds_named(text: str) -> set[str]:
    return {name for name, pattern in _UNIT_NAMED.items() if pattern.search(text)}
