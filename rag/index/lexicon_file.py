"""The stored lexicon: ``lexicon.npz`` next to the manifest, read by every process that opens the
index and written by the writer (``refresh``, under the write lock) after each index run.

A missing, stale or damaged file costs time, never a wrong answer: a reader makes what it lacks
(see ``rag.index.lexicon``). Files written before sentence tags were kept read as having none.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.articles.chunking import text_hash
from rag.index.lexicon import Analyser, Entry, Lexicon, SentenceTags, Terms, corpus_lang, shape_of
from rag.language.lexical import LexicalIndex
from rag.types import Article

log = logging.getLogger(__name__)

FILE = "lexicon.npz"


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
