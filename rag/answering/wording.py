"""What every answer path says the same way: the verbatim quote behind each citation, and the
reply when no passage answers."""

from __future__ import annotations

from rag.language.lexical import detect_language
from rag.types import Article


def quote(article: Article, start: int, end: int) -> str:
    """The verbatim text at ``[start, end)``; every citation goes through here."""
    if not 0 <= start < end <= len(article.text):
        raise ValueError(f"bad quote offsets {start}-{end} in {article.source}")
    return article.text[start:end]


def not_said(question: str, missing: str | None = None, absent: str | None = None) -> str:
    """The reply when no passage answers; ``missing``: the kind of answer asked for that the closest
    passages do not name ('money', 'date', 'count', ...), said after it; ``absent``: the one whose
    words were asked for, whom no article names."""
    german = detect_language(question) == "de"
    if absent:
        if german:
            return f"Die indexierten Artikel erwähnen {absent} nicht: keine Stelle beantwortet „{question.strip()}“."
        return f'The indexed articles never mention {absent}: no passage answers "{question.strip()}".'
    said = _MEASURE.get(missing or "") or _KIND.get(missing or "")
    if german:
        why = f" (die nächsten Stellen nennen {said[1]})" if said else ""
        return f"Die indexierten Artikel sagen dazu nichts: keine Stelle beantwortet „{question.strip()}“{why}."
    why = f" (the closest passages name no {said[0]})" if said else ""
    return f'The indexed articles don\'t say: no passage answers "{question.strip()}"{why}.'


_KIND = {  # what a typed question asks for: (English, German)
    "count": ("number", "keine Zahl"),
    "when": ("date", "kein Datum"),
    "who": ("name", "keinen Namen"),
    "where": ("place", "keinen Ort"),
    "role": ("office or role", "kein Amt und keine Rolle"),
}


_MEASURE = {  # what a question asking for a measure asks for: (English, German)
    "money": ("amount of money", "keinen Geldbetrag"),
    "percent": ("share", "keinen Anteil"),
    "age": ("age", "kein Alter"),
    "year": ("year", "kein Jahr"),
    "clock": ("time of day", "keine Uhrzeit"),
    "length": ("length or distance", "keine Länge und keine Entfernung"),
    "area": ("area", "keine Fläche"),
    "weight": ("weight", "kein Gewicht"),
    "power": ("power or energy", "keine Leistung und keine Energie"),
    "speed": ("speed", "keine Geschwindigkeit"),
    "temperature": ("temperature", "keine Temperatur"),
}


def no_short_answer(question: str, asks: str, measure: str | None = None) -> str | None:
    """The line that leads an answer whose evidence names nothing of the asked kind: the passage
    is shown, not passed off as the short answer (None for a question that asks for no kind)."""
    if asks not in _KIND:
        return None
    english, german = _MEASURE.get(measure or "", _KIND[asks])
    if detect_language(question) == "de":
        return f"Die Artikel nennen dazu {german} direkt; die Stelle, die der Frage am nächsten kommt:"
    return f"The articles name no {english} for this directly; the passage closest to the question:"
