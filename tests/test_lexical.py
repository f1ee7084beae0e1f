"""The sparse BM25 index: the same scores as rank_bm25's BM25Okapi, on real German chunks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

from rag.articles.chunking import chunk_article
from rag.language.lexical import EMPTY, LexicalIndex, tokens
from rag.types import Article

XQUAD = Path(__file__).resolve().parent.parent / "bench" / "data" / "xquad-dev"


def _chunks(limit: int | None = None) -> list[str]:
    paths = sorted((XQUAD / "articles").glob("*.txt"))[:limit]
    arts = [Article(str(i), str(p), p.stem, p.read_text(encoding="utf-8"), "de") for i, p in enumerate(paths)]
    return [c.text for a in arts for c in chunk_article(a, 360)]


def _questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in (XQUAD / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    step = max(1, len(rows) // n)
    return [q for r in rows[::step][:n] for q in (r["question_de"], r["question_en"])]


def _reference(texts: list[str], query: str, lang: str = "de") -> np.ndarray:
    ref = BM25Okapi([tokens(t, lang) or [EMPTY] for t in texts])
    q = tokens(query, lang)
    return np.asarray(ref.get_scores(q)) if q else np.zeros(len(texts))


def test_scores_equal_rank_bm25_on_xquad_chunks() -> None:
    texts = [*_chunks(), "", "?!"]  # chunks without words still count
    index = LexicalIndex(texts, "de")
    ref = BM25Okapi([tokens(t, "de") or [EMPTY] for t in texts])
    for q in _questions(150):
        want = np.asarray(ref.get_scores(tokens(q, "de"))) if tokens(q, "de") else np.zeros(len(texts))
        got = index.scores(q)
        assert got.shape == (len(texts),)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=q)
    assert index.scores("Wie viele Punkte gab die Verteidigung der Panthers ab?").argmax() == int(
        np.argmax(_reference(texts, "Wie viele Punkte gab die Verteidigung der Panthers ab?"))
    )


def test_terms_in_most_chunks_get_the_small_positive_floor() -> None:
    texts = ["Brücke Fluss", "Brücke Stadt", "Brücke Pfeiler", "Kino"]
    got = LexicalIndex(texts).scores("Brücke")
    np.testing.assert_allclose(got, _reference(texts, "Brücke"))
    assert got[3] == 0 and len(set(got[:3].round(9))) == 1


def test_empty_corpus_stop_words_and_unknown_words() -> None:
    assert LexicalIndex([]).scores("Brücke").shape == (0,)
    index = LexicalIndex(["Die Brücke ist 412 Meter lang.", "Die Fähre fährt nach Oslo.", "Das Kino hat drei Säle."])
    assert not index.scores("wie viele und der die das").any()
    assert not index.scores("Quantencomputer").any()
    assert index.scores("Oslo").argmax() == 1


def test_rebuilding_after_an_update_scores_like_a_fresh_index() -> None:
    base = _chunks(3)
    old = LexicalIndex(base)
    added = [*base[5:], "Die neue Neckarbrücke ruht auf 48 Pfeilern."]  # some removed, one new
    new = LexicalIndex(added)
    for q in ["Auf wie vielen Pfeilern ruht die Neckarbrücke?", *_questions(20)]:
        np.testing.assert_allclose(new.scores(q), _reference(added, q), rtol=1e-9, atol=1e-9)
    assert new.scores("Pfeilern").argmax() == len(added) - 1
    # the older index keeps answering over its own texts
    assert old.scores("Pfeilern").shape == (len(base),) and not old.scores("Pfeilern").any()
    np.testing.assert_allclose(old.scores("Warschau"), _reference(base, "Warschau"), rtol=1e-9, atol=1e-9)


def test_idf_is_none_for_words_no_text_of_this_index_has() -> None:
    texts = ["Die Brücke ist 412 Meter lang.", "Der Bau kostete 31 Millionen Euro.", "Radfahrer"]
    # A stored vocabulary still holds the words of removed articles ('oslo' here).
    vocab = {t: i for i, t in enumerate(tokens("Die Fähre fährt nach Oslo."))}
    docs = [np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens(x)), np.int32) for x in texts]
    index = LexicalIndex.from_terms(docs, vocab, "de")
    assert index.idf(tokens("Oslo")[0]) is None
    assert index.idf("quantencomput") is None
    assert index.idf(tokens("Brücke")[0]) == np.log(3 - 1 + 0.5) - np.log(1 + 0.5)
