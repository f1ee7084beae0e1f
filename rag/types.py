"""The data objects that carry the pipeline: article -> chunk -> passage -> citation -> answer."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """One article as indexed: its text is what every offset refers to."""

    id: str
    source: str
    title: str
    text: str
    lang: str = "de"


@dataclass(frozen=True)
class Chunk:
    """A few consecutive sentences of an article, the unit that is embedded."""

    id: str
    article_id: str
    source: str
    title: str
    start: int
    end: int
    text: str
    seq: int = 0


@dataclass(frozen=True)
class Passage:
    """A retrieved stretch of an article with its fused score."""

    article_id: str
    source: str
    title: str
    start: int
    end: int
    text: str
    score: float
    chunk_start: int = 0
    chunk_end: int = 0


@dataclass(frozen=True)
class Citation:
    """A verbatim quote: ``article_text[start:end] == quote``."""

    n: int
    article_id: str
    source: str
    title: str
    start: int
    end: int
    quote: str
    score: float


@dataclass(frozen=True)
class Part:
    """One part of a question that asks several things, answered on its own within one Answer."""

    question: str
    searched: str
    short_answer: str | None
    abstained: bool
    citations: list[int] = field(default_factory=list)  # numbers of the Answer's citations

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    question: str
    answer: str
    short_answer: str | None
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    searched: str = ""
    backend: str = "extractive"
    notice: str | None = None  # what the reader should know about how this answer came about
    parts: list[Part] = field(default_factory=list)  # a question asking several things, part by part

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape of ``rag ask --json`` (``notice`` and ``parts`` only when there are any)."""
        out: dict[str, Any] = {
            "question": self.question,
            "answer": self.answer,
            "short_answer": self.short_answer,
            "abstained": self.abstained,
            "citations": [{k: v for k, v in asdict(c).items() if k != "article_id"} for c in self.citations],
            "passages": [
                {
                    "source": p.source,
                    "start": p.start,
                    "end": p.end,
                    "text": p.text,
                    "score": round(p.score, 4),
                }
                for p in self.passages
            ],
            "backend": self.backend,
            "searched": self.searched,
        }
        if self.notice:
            out["notice"] = self.notice
        if self.parts:
            out["parts"] = [p.to_json() for p in self.parts]
        return out


class Reply:
    """An answer that may still be arriving: iterate for the text as it comes, then read ``answer``."""

    def __init__(self, run: Generator[str, None, Answer] | None = None, answer: Answer | None = None) -> None:
        self._run = run
        self._answer = answer
        self.live = run is not None  # text streams from a model (else ``answer`` is ready)

    @classmethod
    def done(cls, answer: Answer) -> Reply:
        return cls(answer=answer)

    def __iter__(self) -> Iterator[str]:
        if self._run is not None:
            self._answer = yield from self._run
            self._run = None

    @property
    def answer(self) -> Answer:
        for _ in self:
            pass
        assert self._answer is not None
        return self._answer
