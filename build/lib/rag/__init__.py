"""Answer questions about news articles with verbatim, cited passages."""

from rag.types import Answer, Article, Chunk, Citation, Passage

__all__ = ["Answer", "Article", "Chunk", "Citation", "Passage"]
