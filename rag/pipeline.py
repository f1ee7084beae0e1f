"""The small Python API the CLI, the chat app and the tests share: ``Bot.ask`` and ``Bot.index``."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rag.answer import Answerer, not_said
from rag.config import Settings
from rag.embeddings import USEEmbeddings, load_embeddings
from rag.errors import InputError
from rag.generate import Reply, Writer
from rag.indexer import IndexReport, Progress, index_paths
from rag.ingest import is_utf8
from rag.lexical import tokens
from rag.retrieve import Retriever
from rag.types import Answer

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000
_FOLLOW_UP = re.compile(
    r"^(and|und|also|what about|how about|und was|und wie|was ist mit|wie steht es mit|but|aber|then|dann)\b"
    r"|\b(dazu|darauf|davon|damit|deren|dessen|it|that|they|them|he|she|his|her|this|er|sie|ihm|ihn|ihr|das)\b",
    re.IGNORECASE,
)


def make_encoders(settings: Settings) -> list[Any]:
    """The primary embedding model, plus multilingual USE when the fusion uses it."""
    primary = load_embeddings(settings.embedding_model, offline=settings.hf_offline)
    if settings.retrieve.second_encoder_weight > 0:
        return [primary, USEEmbeddings(cache_dir=settings.model_cache())]
    return [primary]


def condense(question: str, history: Sequence[str]) -> str:
    """The text to search for: a follow-up question is joined with the question before it."""
    if not history or question.strip().lower() == history[-1].strip().lower():
        return question  # a question asked again is searched as asked
    short = len(tokens(question)) <= 3
    if short or _FOLLOW_UP.search(question):
        return f"{history[-1]} {question}"
    return question


def check_question(question: str) -> str:
    q = (question or "").strip()
    if not q:
        raise InputError("The question is empty; type a question about the articles.")
    if not is_utf8(q):
        raise InputError("The question holds bytes that are not UTF-8 text; type it again.")
    if len(q) > MAX_QUESTION_CHARS:
        raise InputError(f"The question is {len(q)} characters long; keep it under {MAX_QUESTION_CHARS}.")
    return q


class Bot:
    """Question answering over one index. Models are passed in or loaded once from the settings."""

    def __init__(
        self, settings: Settings | None = None, encoders: Sequence[Any] | None = None, llm: Any | None = None
    ) -> None:
        """``llm`` is a LangChain chat model that writes the answers; by default one is made for
        ``settings.llm.url`` when that is set, else answers are extractive."""
        self.settings = settings or Settings()
        self.encoders = list(encoders) if encoders is not None else make_encoders(self.settings)
        self.answerer = Answerer(self.settings.answer, self.encoders[-1], self.encoders[0])
        self.writer = Writer(self.settings.llm, llm) if llm is not None or self.settings.llm.url else None
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                self._retriever = Retriever(self.settings, self.encoders)
            else:
                self._retriever.refresh()
            return self._retriever

    def ask(self, question: str, k: int | None = None, history: Sequence[str] = ()) -> Answer:
        return self.ask_stream(question, k, history).answer

    def ask_stream(self, question: str, k: int | None = None, history: Sequence[str] = ()) -> Reply:
        """Search and answer extractively now; with a language model configured, its checked answer
        streams from the returned reply (the model is not asked when the extractive step abstains)."""
        q = check_question(question)
        searched = condense(q, history)
        retriever = self.retriever
        passages, trace = retriever.search(searched, k)
        if not passages:
            return Reply.done(Answer(q, not_said(q), None, True, [], [], searched))
        answer = self.answerer.answer(q, passages, retriever.articles, trace, searched)
        if self.writer is None or answer.abstained:
            return Reply.done(answer)
        return self.writer.reply(answer, retriever.articles, history if searched != q else ())

    def index(
        self,
        paths: Iterable[str | Path],
        progress: Progress | None = None,
        prune: bool = False,
        rebuild: bool = False,
        wait: float = 0.0,
    ) -> IndexReport:
        report = index_paths(
            self.settings, self.encoders, paths, progress=progress, prune=prune, rebuild=rebuild, wait=wait
        )
        with self._lock:
            self._retriever = None  # reopen on next use, seeing the new manifest
        return report
