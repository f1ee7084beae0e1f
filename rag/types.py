"""The data objects that carry the pipeline: article -> chunk -> passage; question -> citation -> answer."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# Where an article's date came from, as shown beside it.
DATED_BY_PAGE = "page"  # the web page's own metadata
DATED_BY_FRONT_MATTER = "front matter"  # a ``date:`` line at the top of a text or Markdown file
DATED_BY_BYLINE = "byline"  # the signature a news text ends with: "(Michael Völker, 25.6.2015)"
DATED_BY_FILE = "file time"  # the file's modification time: not a publication date
META_FIELDS = ("date", "dated_by", "author", "site", "url")


@dataclass(frozen=True)
class Meta:
    """What is known about an article besides its text: when, by whom and where it was published."""

    date: str | None = None  # ISO date, YYYY-MM-DD
    dated_by: str = ""  # one of the DATED_BY_* values when ``date`` is set
    author: str | None = None
    site: str | None = None
    url: str | None = None

    def to_entry(self) -> dict[str, str]:
        """The fields that are known, as kept in the index manifest."""
        return {k: v for k in META_FIELDS if (v := getattr(self, k))}

    @classmethod
    def of_entry(cls, entry: Any) -> Meta:
        """From a manifest entry; an index written before metadata was kept gives an empty one."""
        return cls(**{k: entry[k] for k in META_FIELDS if isinstance(entry.get(k), str) and entry[k]})

    def dated(self) -> str:
        """The date as shown: '2021-11-14', '2021-11-14 (file time)', or ''."""
        if not self.date:
            return ""
        return f"{self.date} ({self.dated_by})" if self.dated_by == DATED_BY_FILE else self.date


@dataclass(frozen=True)
class Article:
    """One article as indexed: its text is what every offset refers to."""

    id: str
    source: str
    title: str
    text: str
    lang: str = "de"
    meta: Meta = Meta()


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
    date: str = ""  # the article's date as shown (Meta.dated)
    meta_field: str | None = None  # from the article's metadata ("date", "author", "site"): quote is that line

    @property
    def verbatim(self) -> bool:
        """A quote from the article text, as opposed to a line of its metadata."""
        return self.meta_field is None


@dataclass(frozen=True)
class Question:
    """A question as read once, before anything is searched: what it asks for and the words it
    matches by. Retrieval, evidence ranking, answerability and the short answer read this, not the string."""

    asked: str  # as the person asked it
    searched: str  # what is searched for it (a follow-up carries the question it continues)
    lang: str  # "de" or "en"
    asks: str  # the answer type: "count", "when", "role", "who", "where" or "other"
    target: str | None = None  # what a 'how many' question counts ('Soldaten')
    # the kind of quantity asked for: 'money', 'percent', 'age', 'year', 'clock', 'length', ... (None: a count or none)
    measure: str | None = None
    asks_date: bool = False  # 'On what date ...': a calendar date, not a period, answers it
    names: tuple[str, ...] = ()  # capitalised words likely to be names ('Schoigu', 'NATO')
    words: frozenset[str] = frozenset()  # its word stems, in either language's stemming
    numbers: frozenset[str] = frozenset()  # numbers and roman numerals as written
    pairs: frozenset[tuple[str, str]] = frozenset()  # adjacent word stems
    german: Mapping[str, float] = field(default_factory=dict)  # its German search terms, with a weight
    # Per word stem, other stems a sentence may say it by: the dictionary's German renderings of an
    # English word, the thesaurus's synonyms of a German one.
    alternatives: Mapping[str, frozenset[str]] = field(default_factory=dict)
    speaker: str | None = None  # whose words are asked for: 'Macron' in 'What did Macron say ...?'

    @property
    def text(self) -> str:
        """What the answer step reads: the searched text when it continues the question as asked."""
        return read_as(self.asked, self.searched)


def read_as(asked: str, searched: str) -> str:
    """What a question is read as: ``searched`` when it is a follow-up joined to the question it
    continues ('How many soldiers? And vehicles?' for 'And vehicles?'), else the question as asked."""
    return searched if searched and searched != asked and searched.endswith(asked) else asked


@dataclass(frozen=True)
class Scope:
    """Which articles a question may be answered from: one article, a date range, or all."""

    article: str | None = None  # an article id, source, file name or title words
    since: str | None = None  # ISO date, inclusive
    until: str | None = None  # ISO date, inclusive

    @property
    def everything(self) -> bool:
        return not (self.article or self.since or self.until)


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
    kind: str = "fact"  # "fact", or a news-desk request: "overview", "collection", "latest", "metadata"
    # False when the evidence names nothing of the kind asked for (a name, a date, ...): the short
    # answer is then the evidence sentence itself, and the answer says so.
    short_found: bool = True

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
            "kind": self.kind,
            "short_found": self.short_found,
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
