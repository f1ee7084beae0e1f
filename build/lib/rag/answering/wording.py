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


def not_said(question: str) -> str:
    if detect_language(question) == "de":
        return f"Die indexierten Artikel sagen dazu nichts: keine Stelle beantwortet „{question.strip()}“."
    return f'The indexed articles don\'t say: no passage answers "{question.strip()}".'
