"""The chunks and BM25 term ids of every indexed article, kept next to the manifest.

Opening an index needs each article's chunk spans and the stemmed terms of each chunk. Making
them means splitting and stemming every article again (about a second per 10k chunks), so the
writer stores them in ``lexicon.npz`` keyed by article id and text hash. A reader uses the entries
whose article is unchanged and makes the rest itself, so a missing, stale or damaged file costs
time, never a wrong answer.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

import numpy as np

from rag.articles.chunking import CHUNKER_VERSION, article_sentences, chunk_article, text_hash
from rag.language.lexical import EMPTY, LEXICAL_VERSION, LexicalIndex, tokens
from rag.types import Article, Chunk

log = logging.getLogger(__name__)

T = TypeVar("T")

FILE = "lexicon.npz"
FORMAT = 2


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
        if analyser is not None and found.tags is None:
            sents = article_sentences(article.text)
            codes = [np.asarray(analyser.tags(article.text[x.start : x.end]), dtype=np.int8) for x in sents]
            found.tags = SentenceTags(
                np.array([x.start for x in sents], dtype=np.int32),
                np.concatenate([[0], np.cumsum([len(c) for c in codes])]).astype(np.int64),
                np.concatenate(codes) if codes else np.zeros(0, np.int8),
            )
            self.dirty = True
        if embed is not None and found.sentence_vectors is None:
            sents = article_sentences(article.text)
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


def load(index_dir: Path, shape: dict[str, object]) -> Lexicon:
    """The stored lexicon when it was made with ``shape``; an empty one otherwise (with ``problem``
    set when the file is there but cannot be read)."""
    path = index_dir / FILE
    if not path.is_file():
        return Lexicon.empty(shape)
    try:
        with np.load(path, allow_pickle=False) as z:
            if json.loads(str(z["shape"])) != shape:
                return Lexicon.empty(shape)
            return _entries(z, shape)
    except Exception as exc:  # any damage to a cache file means: make it again
        found = Lexicon.empty(shape)
        found.problem = damaged(path, exc)
        log.debug("%s", found.problem)
        return found


def damaged(path: Path, exc: BaseException) -> str:
    """One line on an unreadable lexicon file and what repairs it."""
    return (
        f"{path} is damaged ({type(exc).__name__}); answers are unchanged but opening the index is slower; "
        "make it again with: python -m rag index"
    )


def check(index_dir: Path) -> str | None:
    """None when the stored lexicon is absent or reads back whole (every array, checksums
    included); else one line saying it is damaged."""
    path = index_dir / FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            shape = json.loads(str(z["shape"]))
            _entries(z, shape)
    except Exception as exc:  # numpy and zipfile raise many types for a damaged file
        return damaged(path, exc)
    return None


def _entries(z: Any, shape: dict[str, object]) -> Lexicon:
    vocab = {t: i for i, t in enumerate(z["vocab"].tolist())}
    ids, shas = z["ids"].tolist(), z["shas"].tolist()
    art_ptr, spans = z["art_ptr"], z["spans"]
    tok_ptr, toks = z["tok_ptr"], z["toks"]
    sent_ptr, has_vectors = z["sent_ptr"], z["has_vectors"]
    sent_starts, sent_vectors = z["sent_starts"], z["sent_vectors"]
    bm25 = {k[5:]: z[k] for k in z.files if k.startswith("bm25_") and k != "bm25_key"}
    bm25_key = z["bm25_key"].tolist() if "bm25_key" in z.files else None
    if (
        len(art_ptr) != len(ids) + 1
        or int(art_ptr[-1]) != len(spans)
        or len(tok_ptr) != len(spans) + 1
        or int(tok_ptr[-1]) != len(toks)
    ):
        raise ValueError("its arrays do not fit together")
    tagged = "tag_art" in z.files  # files written before sentence tags were kept have none
    if tagged:
        tag_art, tag_starts, tag_lens, tag_codes = z["tag_art"], z["tag_starts"], z["tag_lens"], z["tag_codes"]
        tag_ptr = np.concatenate([[0], np.cumsum(tag_lens)]).astype(np.int64)
        if len(tag_art) != len(ids) + 1 or int(tag_art[-1]) != len(tag_starts) or int(tag_ptr[-1]) != len(tag_codes):
            raise ValueError("its sentence tags do not fit together")
    entries = {}
    for k, (aid, sha) in enumerate(zip(ids, shas, strict=True)):
        a, b = int(art_ptr[k]), int(art_ptr[k + 1])
        entry = Entry(sha, spans[a:b], Terms(toks, tok_ptr[a : b + 1]))
        if has_vectors[k]:
            c, d = int(sent_ptr[k]), int(sent_ptr[k + 1])
            entry.sentence_starts, entry.sentence_vectors = sent_starts[c:d], sent_vectors[c:d]
        if tagged and tag_art[k + 1] > tag_art[k]:
            c, d = int(tag_art[k]), int(tag_art[k + 1])
            first = int(tag_ptr[c])
            entry.tags = SentenceTags(tag_starts[c:d], tag_ptr[c : d + 1] - first, tag_codes[first : int(tag_ptr[d])])
        entries[aid] = entry
    analysis = str(z["analysis"]) if "analysis" in z.files else None
    return Lexicon(
        shape, vocab, entries, bm25=bm25 if bm25_key is not None else None, bm25_key=bm25_key, analysis=analysis or None
    )


def bm25_key(metas: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What stored BM25 arrays must have been built for: these articles, in this order, these texts."""
    return [f"{aid}:{meta.get('sha')}" for aid, meta in metas.items()]


def save(index_dir: Path, lexicon: Lexicon) -> None:
    """Write atomically: a reader sees the old file or the new one."""
    ids = list(lexicon.entries)
    entries = [lexicon.entries[a] for a in ids]
    counts = [len(e.spans) for e in entries]
    terms = [t for e in entries for t in e.terms]
    vocab = sorted(lexicon.vocab, key=lexicon.vocab.__getitem__)
    with_vectors = [e for e in entries if e.sentence_vectors is not None and e.sentence_starts is not None]
    dim = next((e.sentence_vectors.shape[1] for e in with_vectors if e.sentence_vectors is not None), 0)
    tmp = index_dir / f".{FILE}.tmp"
    with open(tmp, "wb") as fh:
        np.savez(
            fh,
            shape=np.array(json.dumps(lexicon.shape, sort_keys=True)),
            vocab=np.array(vocab, dtype=str),
            ids=np.array(ids, dtype=str),
            shas=np.array([e.sha for e in entries], dtype=str),
            art_ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            spans=np.concatenate([e.spans for e in entries]) if entries else np.zeros((0, 2), np.int32),
            tok_ptr=np.concatenate([[0], np.cumsum([len(t) for t in terms])]).astype(np.int64),
            toks=np.concatenate(terms).astype(np.int32) if terms else np.zeros(0, np.int32),
            has_vectors=np.array([e.sentence_vectors is not None for e in entries], dtype=bool),
            sent_ptr=np.concatenate([[0], np.cumsum([_sentence_count(e) for e in entries])]).astype(np.int64),
            sent_starts=np.concatenate([e.sentence_starts for e in with_vectors if e.sentence_starts is not None])
            if with_vectors
            else np.zeros(0, np.int32),
            sent_vectors=np.concatenate([e.sentence_vectors for e in with_vectors if e.sentence_vectors is not None])
            if with_vectors
            else np.zeros((0, dim), np.float16),
            **_bm25_arrays(lexicon),
            **_tag_arrays(lexicon, entries),
        )
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / FILE)


def _bm25_arrays(lexicon: Lexicon) -> dict[str, np.ndarray]:
    if lexicon.bm25 is None or lexicon.bm25_key is None:
        return {}
    return {"bm25_key": np.array(lexicon.bm25_key, dtype=str), **{f"bm25_{k}": v for k, v in lexicon.bm25.items()}}


def _tag_arrays(lexicon: Lexicon, entries: Sequence[Entry]) -> dict[str, np.ndarray]:
    """The entries' sentence tags: per entry a range of sentences (``tag_art``), per sentence its start
    and number of tokens, and every token's tag."""
    tags = [e.tags for e in entries]
    return {
        "analysis": np.array(lexicon.analysis or ""),
        "tag_art": np.concatenate([[0], np.cumsum([len(t.starts) if t else 0 for t in tags])]).astype(np.int64),
        "tag_starts": np.concatenate([t.starts for t in tags if t] or [np.zeros(0, np.int32)]).astype(np.int32),
        "tag_lens": np.concatenate([np.diff(t.ptr) for t in tags if t] or [np.zeros(0, np.int64)]).astype(np.int32),
        "tag_codes": np.concatenate([t.codes for t in tags if t] or [np.zeros(0, np.int8)]).astype(np.int8),
    }


def _sentence_count(entry: Entry) -> int:
    return 0 if entry.sentence_vectors is None else len(entry.sentence_vectors)


def corpus_lang(metas: Iterable[Mapping[str, Any]]) -> str:
    """The language most indexed articles are in: the one BM25 stems with."""
    langs = [m.get("lang", "de") for m in metas]
    return max(sorted(set(langs)), key=langs.count) if langs else "de"


def refresh(
    index_dir: Path,
    metas: Mapping[str, Mapping[str, Any]],
    article: Callable[[str], Article | None],
    max_chars: int,
    encoder_name: str,
    embed: Any | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    analyser: Analyser | None = None,
) -> None:
    """Bring the stored lexicon up to the manifest's articles (writer only, under the write lock);
    ``article(id)`` reads an article whose entry must be made (None: leave it to the readers).
    With ``embed`` (the encoder named ``encoder_name``), every entry gets its sentence vectors; with
    ``analyser``, its sentence tags (made again for every entry when the analyser's version changed)."""
    lexicon = load(index_dir, shape_of(max_chars, corpus_lang(metas.values()), encoder_name))
    if analyser is not None and lexicon.analysis != analyser.version:
        for e in lexicon.entries.values():
            e.tags = None
        lexicon.analysis, lexicon.dirty = analyser.version, True
    todo = [
        aid
        for aid, meta in metas.items()
        if (found := lexicon.entries.get(aid)) is None
        or found.sha != meta.get("sha")
        or (embed is not None and found.sentence_vectors is None)
        or (analyser is not None and found.tags is None)
    ]
    for n, aid in enumerate(todo, 1):
        art = article(aid)
        if art is not None:
            lexicon.entry(art, metas[aid].get("sha") or text_hash(art.text), max_chars, embed, analyser)
        if progress:
            progress(n, len(todo), f"sentences of {metas[aid].get('source', aid)}")
    lexicon.keep_only(metas)
    if lexicon.dirty:
        _compact(lexicon)
    key = bm25_key(metas)
    if lexicon.dirty or lexicon.bm25_key != key:
        _store_bm25(lexicon, metas, key)
        save(index_dir, lexicon)


def _store_bm25(lexicon: Lexicon, metas: Mapping[str, Mapping[str, Any]], key: list[str]) -> None:
    """BM25 over the manifest's articles in its order, as a reader opens them (none when an
    article has no entry: that reader builds its own)."""
    if any(aid not in lexicon.entries for aid in metas):
        lexicon.bm25 = lexicon.bm25_key = None
        return
    terms = [t for aid in metas for t in lexicon.entries[aid].terms]
    lexicon.bm25 = LexicalIndex.from_terms(terms, lexicon.vocab, str(lexicon.shape["lang"])).arrays()
    lexicon.bm25_key = key


def _compact(lexicon: Lexicon) -> None:
    """Drop terms only removed articles had, once they are most of the vocabulary."""
    terms = [t for e in lexicon.entries.values() for t in e.terms]
    used = np.unique(np.concatenate(terms)) if terms else np.zeros(0, np.int64)
    if len(used) * 2 >= len(lexicon.vocab):
        return
    remap = np.full(len(lexicon.vocab), -1, dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    words = sorted(lexicon.vocab, key=lexicon.vocab.__getitem__)
    lexicon.vocab = {words[i]: k for k, i in enumerate(used.tolist())}
    for e in lexicon.entries.values():
        e.terms = [remap[t] for t in e.terms]
