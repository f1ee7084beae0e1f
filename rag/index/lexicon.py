"""The chunks and BM25 term ids of every indexed article, with its sentence vectors and tags.

Opening an index needs each article's chunk spans and the stemmed terms of each chunk. Making
them means splitting and stemming every article again (about a second per 10k chunks), so the
writer stores them (``rag.index.lexicon_file``) keyed by article id and text hash. A reader uses the
entries whose article is unchanged and makes the rest itself, so a missing, stale or damaged file
costs time, never a wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

import numpy as np

from rag.articles.chunking import CHUNKER_VERSION, article_sentences, chunk_article
from rag.language.lexical import EMPTY, LEXICAL_VERSION, tokens
from rag.types import Article, Chunk

T = TypeVar("T")

FORMAT = 2  # of the stored file (rag.index.lexicon_file)


@dataclass
class Entry:
    """One article: its chunk spans, per chunk the ids of its terms in the vocabulary, and the
    primary encoder's vectors of its sentences (None until made) for choosing evidence sentences."""

    sha: str
    spans: np.ndarray  # (n, 2) int32 start/end
    terms: Sequence[np.ndarray]
    sentence_starts: np.ndarray | None = None  # (m,) int32, the starts of article_sentences(text)
    sentence_vectors: np.ndarray | None = None  # (m, dim) float16
    tags: SentenceTags | None = None  # its sentences' tags, when an analyser made them


@dataclass
class SentenceTags:
    """The tags an ``Analyser`` gave each sentence of an article: sentence i starts at ``starts[i]`` and
    its tokens' tags are ``codes[ptr[i]:ptr[i + 1]]``."""

    starts: np.ndarray  # (m,) int32
    ptr: np.ndarray  # (m + 1,) int64
    codes: np.ndarray  # int8

    def of(self, start: int) -> np.ndarray | None:
        """The tags of the sentence starting at ``start`` (None when no sentence starts there)."""
        i = int(np.searchsorted(self.starts, start))
        if i < len(self.starts) and int(self.starts[i]) == start:
            return self.codes[int(self.ptr[i]) : int(self.ptr[i + 1])]
        return None


@dataclass(frozen=True)
class Analyser:
    """Tags every sentence's tokens when an article is indexed, so answers read them instead of
    tagging: ``tags(sentence)`` gives small ints, ``version`` names what they depend on (tags of
    another version are made again by the next index run, and not used until then)."""

    version: str
    tags: Callable[[str], Sequence[int]]


class _Made(Sequence[T]):
    """A sequence whose items are made when read: subclasses give ``__len__`` and ``_make(i)``
    for 0 <= i < len; indexing from the end and slices are handled here."""

    def _make(self, i: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        n = len(self)
        if isinstance(i, slice):
            return [self._make(j) for j in range(*i.indices(n))]
        if not -n <= i < n:
            raise IndexError(i)
        return self._make(i % n)


class Terms(_Made[np.ndarray]):
    """The term ids of an article's chunks as stored, one flat array cut where each chunk begins:
    cut only when read (a reader that loads the stored BM25 never reads them)."""

    def __init__(self, flat: np.ndarray, bounds: np.ndarray) -> None:
        self._flat, self._bounds = flat, bounds  # chunk i is flat[bounds[i]:bounds[i + 1]]

    def __len__(self) -> int:
        return max(len(self._bounds) - 1, 0)

    def _make(self, i: int) -> np.ndarray:
        return self._flat[int(self._bounds[i]) : int(self._bounds[i + 1])]


@dataclass
class Lexicon:
    """Entries by article id over one vocabulary (it only grows; ids never change)."""

    shape: dict[str, object]  # what the entries depend on: chunk size, language, versions
    vocab: dict[str, int]
    entries: dict[str, Entry]
    dirty: bool = False  # differs from the stored file
    # BM25 over every chunk of the articles ``bm25_key`` lists in order ("id:sha"), built by the
    # writer so that a reader opening the same articles loads it instead of building it.
    bm25: dict[str, np.ndarray] | None = None
    bm25_key: list[str] | None = None
    problem: str | None = None  # why the stored file could not be read, when it could not
    analysis: str | None = None  # the version of the analyser that made the entries' tags

    @classmethod
    def empty(cls, shape: dict[str, object]) -> Lexicon:
        return cls(shape, {}, {}, dirty=True)

    def current(self, article_id: str, sha: str | None) -> Entry | None:
        """The stored entry of an article whose text still has hash ``sha``, else None."""
        found = self.entries.get(article_id)
        return found if found is not None and sha and found.sha == sha else None

    def entry(
        self, article: Article, sha: str, max_chars: int, embed: Any | None = None, analyser: Analyser | None = None
    ) -> Entry:
        """The stored entry when the article is unchanged, else a new one (stored too). With
        ``embed`` (an encoder), its sentence vectors are made when it has none; with ``analyser``,
        its sentence tags."""
        found = self.current(article.id, sha) or self._make(article, sha, max_chars)
        make_tags = analyser is not None and found.tags is None
        make_vectors = embed is not None and found.sentence_vectors is None
        sents = article_sentences(article.text) if make_tags or make_vectors else []
        if make_tags:
            codes = [np.asarray(analyser.tags(article.text[x.start : x.end]), dtype=np.int8) for x in sents]
            found.tags = SentenceTags(
                np.array([x.start for x in sents], dtype=np.int32),
                np.concatenate([[0], np.cumsum([len(c) for c in codes])]).astype(np.int64),
                np.concatenate(codes) if codes else np.zeros(0, np.int8),
            )
            self.dirty = True
        if make_vectors:
            vectors = embed.embed_documents([article.text[x.start : x.end] for x in sents]) if sents else []
            found.sentence_starts = np.array([x.start for x in sents], dtype=np.int32)
            found.sentence_vectors = np.asarray(vectors, dtype=np.float16).reshape(len(sents), -1)
            self.dirty = True
        return found

    def _make(self, article: Article, sha: str, max_chars: int) -> Entry:
        chunks = chunk_article(article, max_chars)
        lang = str(self.shape["lang"])
        terms = []
        for c in chunks:
            toks = tokens(c.text, lang) or [EMPTY]
            terms.append(np.fromiter((self.vocab.setdefault(t, len(self.vocab)) for t in toks), np.int32, len(toks)))
        spans = np.array([(c.start, c.end) for c in chunks], dtype=np.int32).reshape(-1, 2)
        made = Entry(sha, spans, terms)
        self.entries[article.id] = made
        self.dirty = True
        return made

    def keep_only(self, ids: Iterable[str]) -> None:
        wanted = set(ids)
        if set(self.entries) - wanted:
            self.entries = {aid: e for aid, e in self.entries.items() if aid in wanted}
            self.dirty = True


def shape_of(max_chars: int, lang: str, encoder: str) -> dict[str, object]:
    """What stored entries must have been made with to be used; ``encoder`` names the model of the
    sentence vectors."""
    return {
        "format": FORMAT,
        "max_chars": max_chars,
        "lang": lang,
        "chunker": CHUNKER_VERSION,
        "terms": LEXICAL_VERSION,
        "encoder": encoder,
    }


def _chunk(article: Article, start: int, end: int, seq: int) -> Chunk:
    text = article.text[start:end]
    return Chunk(f"{article.id}:{start}-{end}", article.id, article.source, article.title, start, end, text, seq)


class ChunkTable(_Made[Chunk]):
    """Every chunk of an index by row, made on demand from the articles and their spans: a question
    reads a few hundred of them, so opening 100k chunks does not build 100k objects."""

    def __init__(self, articles: Mapping[str, Article], parts: Iterable[tuple[str, np.ndarray]]) -> None:
        """``parts``: each article's id and chunk spans, in row order; ``articles`` gives the texts."""
        self._articles = articles
        self._ids: list[str] = []
        self._spans: list[np.ndarray] = []
        self._where: dict[str, int] = {}  # article id -> its position in _ids
        for aid, spans in parts:
            self._where[aid] = len(self._ids)
            self._ids.append(aid)
            self._spans.append(spans)
        self._ends = np.cumsum([len(x) for x in self._spans], dtype=np.int64)

    def __len__(self) -> int:
        return int(self._ends[-1]) if len(self._ends) else 0

    def _make(self, row: int) -> Chunk:
        k = int(np.searchsorted(self._ends, row, side="right"))
        seq = row - self._first(k)
        start, end = self._spans[k][seq].tolist()
        return _chunk(self._articles[self._ids[k]], start, end, seq)

    def _first(self, k: int) -> int:
        return int(self._ends[k - 1]) if k else 0

    def rows_of(self, article_id: str) -> range:
        """The rows of one article's chunks (empty for an article the index does not hold)."""
        k = self._where.get(article_id)
        return range(0) if k is None else range(self._first(k), int(self._ends[k]))

    def row_of(self, chunk_id: str) -> int | None:
        """The row of a chunk id ("article:start-end"), None for a chunk the index does not hold."""
        aid, _, span = chunk_id.rpartition(":")
        start, _, end = span.partition("-")
        k = self._where.get(aid)
        if k is None or not start.isdigit() or not end.isdigit():
            return None
        spans = self._spans[k]
        seq = int(np.searchsorted(spans[:, 0], int(start)))
        if seq < len(spans) and spans[seq].tolist() == [int(start), int(end)]:
            return self._first(k) + seq
        return None


def corpus_lang(metas: Iterable[Mapping[str, Any]]) -> str:
    """The language most indexed articles are in: the one BM25 stems with."""
    langs = [m.get("lang", "de") for m in metas]
    return max(sorted(set(langs)), key=langs.count) if langs else "de"
