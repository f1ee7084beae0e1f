"""The small Python API the CLI, the chat app and the tests share: ``Bot.ask`` and ``Bot.index``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rag.answering import conversation, parts, spans
from rag.answering.answer import Answerer
from rag.answering.desk import Desk
from rag.answering.learned import AnswerModel
from rag.answering.learned import load as load_model
from rag.answering.requests import OVERVIEW, points_at_article, read_request, without_pointer
from rag.answering.retrieve import Retriever
from rag.answering.scope import resolve as resolve_scope
from rag.answering.spanmodel import load as load_span_model
from rag.answering.wording import not_said
from rag.articles.ingest import is_utf8
from rag.config import Settings
from rag.embeddings import USEEmbeddings, load_embeddings
from rag.errors import InputError
from rag.index.indexer import IndexReport, Progress
from rag.index.update import index_paths
from rag.language import dictionary
from rag.types import Answer, Reply, Scope
from rag.writing.generate import Writer

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000


def make_encoders(settings: Settings) -> list[Any]:
    """The primary embedding model, plus multilingual USE when the fusion uses it."""
    primary = load_embeddings(settings.embedding_model, offline=settings.hf_offline)
    if settings.retrieve.second_encoder_weight > 0:
        return [primary, USEEmbeddings(cache_dir=settings.model_cache())]
    return [primary]


def answer_model_for(settings: Settings, encoders: Sequence[Any]) -> AnswerModel | None:
    """The trained answer model, when it was trained for these encoders (else hand-set rules answer)."""
    model = load_model(settings.answer.model)
    names = [getattr(e, "name", type(e).__name__) for e in encoders]
    if model is not None and not model.fits(names):
        log.warning(
            "the answer model was trained for %s, not %s: hand-set rules choose the evidence; "
            "retrain with: python -m rag train",
            ", ".join(model.encoders),
            ", ".join(names),
        )
        return None
    return model


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
        self,
        settings: Settings | None = None,
        encoders: Sequence[Any] | None = None,
        llm: Any | None = None,
        answer_model: AnswerModel | None = None,
    ) -> None:
        """``llm`` is a LangChain chat model that writes the answers; by default one is made for
        ``settings.llm.url`` when that is set, else answers are extractive. ``answer_model`` chooses
        evidence and decides answerability; by default the one of ``settings.answer.model``."""
        self.settings = settings or Settings()
        self.encoders = list(encoders) if encoders is not None else make_encoders(self.settings)
        if answer_model is None and self.settings.answer.learned:
            answer_model = answer_model_for(self.settings, self.encoders)
        span_model = load_span_model(self.settings.answer.span_model) if self.settings.answer.spans else None
        self.answerer = Answerer(
            self.settings.answer, self.encoders[-1], self.encoders[0], answer_model, span_model, self._gloss
        )
        self.writer = Writer(self.settings.llm, llm) if llm is not None or self.settings.llm.url else None
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()

    def _gloss(self, word: str) -> str | None:
        """An English gloss of a German word from the dictionary, for English askers' short answers."""
        found = dictionary.load(self.settings.dictionary, self.settings.model_cache())
        return found.gloss(word) if found is not None else None

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                self._retriever = Retriever(self.settings, self.encoders)
            else:
                self._retriever.refresh()
            return self._retriever

    def ask(
        self,
        question: str,
        k: int | None = None,
        history: Sequence[str] = (),
        scope: Scope | None = None,
        context: str | None = None,
    ) -> Answer:
        return self.ask_stream(question, k, history, scope, context).answer

    def ask_stream(
        self,
        question: str,
        k: int | None = None,
        history: Sequence[str] = (),
        scope: Scope | None = None,
        context: str | None = None,
    ) -> Reply:
        """Search and answer extractively now; with a language model configured, its checked answer
        streams from the returned reply. The model is asked whenever passages were found, also when
        the extractive step declined; it may answer or decline, and when it fails or its answer does
        not pass the citation check, the extractive answer or decline stands.

        ``history`` holds the earlier questions of the conversation as they were asked, oldest
        first; a follow-up is searched together with the latest of them that stands alone. A
        question that asks several things is answered part by part in one reply.

        ``scope`` limits the articles answers come from; ``context`` is the id of the article the
        last answer quoted: "this article" and a request without a subject ("When was it
        published?") mean it. Questions about the articles themselves (what one is about, which
        mention a name, the latest on a subject, when and where one was published) are answered
        from their leads and metadata, never joined to the question before."""
        q = check_question(question)
        retriever = self.retriever
        allowed = resolve_scope(scope, retriever.manifest.articles)
        request = read_request(q)
        if request is not None:
            answer = Desk(retriever).answer(q, request, allowed, context)
            if self.writer is not None and answer.kind == OVERVIEW and answer.passages:
                return self.writer.reply(answer, retriever.articles)  # a summary written from the lead, checked
            return Reply.done(answer)
        if context and points_at_article(q) and context in retriever.manifest.articles:
            if allowed is None or context in allowed:  # 'Who is quoted in this article?': searched there
                bare = without_pointer(q)
                return self._reply(bare, conversation.Plan(bare), retriever, k, frozenset({context}))
        history = [h for h in history if read_request(h) is None]
        whole = conversation.plan(q, history)
        pieces = conversation.split(q)
        if len(pieces) == 1:
            return self._reply(q, whole, retriever, k, allowed)
        plans = [conversation.plan_part(piece, q, whole) for piece in pieces]
        return parts.combine(
            q, pieces, [self._reply(p, plan, retriever, k, allowed) for p, plan in zip(pieces, plans, strict=True)]
        )

    def _reply(
        self,
        question: str,
        plan: conversation.Plan,
        retriever: Retriever,
        k: int | None,
        allowed: frozenset[str] | None = None,
    ) -> Reply:
        read = retriever.read(question, plan.searched)
        passages, trace = retriever.search(read, k, allowed)
        if not passages:
            return Reply.done(Answer(question, not_said(question), None, True, [], [], plan.searched))
        answer = self.answerer.answer(read, passages, retriever.articles, trace)
        if self.writer is None:
            return Reply.done(answer)
        return self.writer.reply(answer, retriever.articles, [plan.anchor] if plan.anchor else (), plan.whole)

    def index(
        self,
        paths: Iterable[str | Path],
        progress: Progress | None = None,
        prune: bool = False,
        rebuild: bool = False,
        wait: float = 0.0,
        any_address: bool = False,
    ) -> IndexReport:
        report = index_paths(
            self.settings,
            self.encoders,
            paths,
            progress=progress,
            prune=prune,
            rebuild=rebuild,
            wait=wait,
            any_address=any_address,
            analyser=spans.analyser(),
        )
        with self._lock:
            self._retriever = None  # reopen on next use, seeing the new manifest
        return report
