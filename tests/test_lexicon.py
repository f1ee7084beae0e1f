"""The stored chunks and BM25 terms (lexicon.npz): opening an index reads them instead of splitting
and stemming every article, and a missing, stale or damaged file changes no answer."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from indexkit import BRIDGE, BRIDGE_Q, FERRY, FERRY_Q, assert_consistent, write_articles

from rag.answering.retrieve import Retriever
from rag.articles.chunking import article_sentences, chunk_article
from rag.config import Settings
from rag.index import lexicon, lexicon_file
from rag.index.manifest import read_manifest
from rag.index.update import index_paths, remove_sources
from rag.language.lexical import LexicalIndex
from rag.pipeline import Bot

QUESTIONS = [BRIDGE_Q, FERRY_Q, "Wer hat die Brücke gebaut?", "Oslo Kiel Fähre"]


def _shape(encoders: list[Any]) -> dict[str, object]:
    return lexicon.shape_of(Settings().chunk.max_chars, "de", encoders[0].name)


@pytest.fixture
def index(tmp_path: Path, encoders: list[Any]) -> tuple[Path, Path]:
    folder = write_articles(tmp_path / "news", bridge=BRIDGE, ferry=FERRY)
    index_paths(Settings(index_dir=tmp_path / "index"), encoders, [folder])
    return tmp_path / "index", folder


def _fresh(retriever: Retriever) -> tuple[list[Any], LexicalIndex]:
    """What opening made before the lexicon existed: chunks and BM25 from the article texts."""
    chunks = [c for a in retriever.articles.values() for c in chunk_article(a, Settings().chunk.max_chars)]
    return chunks, LexicalIndex([c.text for c in chunks], retriever.corpus_lang)


def _same_as_fresh(retriever: Retriever) -> None:
    chunks, bm25 = _fresh(retriever)
    assert list(retriever.chunks) == chunks
    # Rows are made on demand: a chunk id finds its row, an article its rows, anything else none.
    table = retriever.chunks
    assert [table.row_of(c.id) for c in chunks] == list(range(len(chunks)))
    assert [r for aid in retriever.articles for r in table.rows_of(aid)] == list(range(len(chunks)))
    first = chunks[0]
    assert table[-1] == chunks[-1] and table[1:3] == chunks[1:3]
    for unknown in (f"{first.article_id}:{first.start}-{first.end + 1}", f"nope:{first.start}-{first.end}", "x"):
        assert table.row_of(unknown) is None
    assert table.rows_of("nope") == range(0)
    with pytest.raises(IndexError):
        table[len(chunks)]
    for q in QUESTIONS:
        np.testing.assert_allclose(retriever.lexical.scores(q), bm25.scores(q), rtol=1e-12)


def test_the_writer_stores_every_article_and_opening_reads_them(index: tuple[Path, Path], encoders: list[Any]) -> None:
    index_dir, _ = index
    manifest = assert_consistent(index_dir)
    stored = lexicon_file.load(index_dir, _shape(encoders))
    assert {aid: e.sha for aid, e in stored.entries.items()} == {a: m["sha"] for a, m in manifest.articles.items()}
    assert all(len(stored.entries[a].spans) == m["chunks"] for a, m in manifest.articles.items())
    retriever = Retriever(Settings(index_dir=index_dir), encoders)
    _same_as_fresh(retriever)
    # Every sentence the answer step reads has its stored vector: the model's own, to float16 precision.
    for aid, art in retriever.articles.items():
        starts, vectors = retriever.sentence_vectors[aid]
        sents = article_sentences(art.text)
        assert starts.tolist() == [x.start for x in sents]
        made = np.asarray(encoders[0].embed_documents([art.text[x.start : x.end] for x in sents]))
        np.testing.assert_allclose(vectors.astype(np.float32), made, atol=2e-3)


def test_chunks_are_ranked_by_their_best_stored_sentence(index: tuple[Path, Path], encoders: list[Any]) -> None:
    index_dir, _ = index
    retriever = Retriever(Settings(index_dir=index_dir), encoders)
    question = "On how many piers does the bridge rest?"
    rows = list(range(len(retriever.chunks)))
    got = retriever._best_sentence(rows, encoders[0].embed_query(question))
    q = np.asarray(encoders[0].embed_query(question))
    for r, score in zip(rows, got, strict=True):
        c = retriever.chunks[r]
        text = retriever.articles[c.article_id].text
        inside = [text[x.start : x.end] for x in article_sentences(text) if c.start <= x.start < c.end]
        best = max(float(np.dot(q, v)) for v in encoders[0].embed_documents(inside))
        assert score == pytest.approx(best, abs=2e-3), c.text
    # The English question finds the sentence that answers it.
    passages, _ = retriever.search(question)
    assert "48 Pfeilern" in passages[0].text


@pytest.mark.parametrize("damage", ["garbage", "missing", "other chunk size"])
def test_a_bad_lexicon_costs_time_not_answers(index: tuple[Path, Path], encoders: list[Any], damage: str) -> None:
    index_dir, folder = index
    before = Bot(Settings(index_dir=index_dir), encoders=encoders).ask(BRIDGE_Q)
    path = index_dir / lexicon_file.FILE
    if damage == "garbage":
        path.write_bytes(b"PK\x03\x04 not a zip at all")
    elif damage == "missing":
        path.unlink()
    else:
        stored = lexicon_file.load(index_dir, _shape(encoders))
        stored.shape = lexicon.shape_of(200, "de", encoders[0].name)
        lexicon_file.save(index_dir, stored)
    retriever = Retriever(Settings(index_dir=index_dir), encoders)
    _same_as_fresh(retriever)
    after = Bot(Settings(index_dir=index_dir), encoders=encoders).ask(BRIDGE_Q)
    assert after.answer == before.answer
    # Same quotes at the same offsets; the scores may differ in the last digit (sentence vectors are
    # stored at half precision and embedded afresh without the lexicon).
    assert [(c.source, c.start, c.end, c.quote) for c in after.citations] == [
        (c.source, c.start, c.end, c.quote) for c in before.citations
    ]
    assert [c.score for c in after.citations] == pytest.approx([c.score for c in before.citations], abs=1e-3)
    index_paths(Settings(index_dir=index_dir), encoders, [folder])  # the next run makes it again
    stored = lexicon_file.load(index_dir, _shape(encoders))
    assert set(stored.entries) == set(read_manifest(index_dir).articles)


def test_an_entry_for_an_older_text_is_not_used(index: tuple[Path, Path], encoders: list[Any]) -> None:
    index_dir, folder = index
    old = index_dir.parent / "old-lexicon.npz"
    shutil.copy(index_dir / lexicon_file.FILE, old)
    (folder / "bridge.txt").write_text(BRIDGE.replace("48 Pfeilern", "52 Pfeilern"), encoding="utf-8")
    index_paths(Settings(index_dir=index_dir), encoders, [folder])
    shutil.copy(old, index_dir / lexicon_file.FILE)  # as if a reader opened between manifest and lexicon writes
    retriever = Retriever(Settings(index_dir=index_dir), encoders)
    _same_as_fresh(retriever)
    assert "52 Pfeilern" in retriever.search(BRIDGE_Q)[0][0].text


def test_removed_articles_leave_the_lexicon_and_their_words_go_in_time(
    index: tuple[Path, Path], encoders: list[Any]
) -> None:
    index_dir, folder = index
    remove_sources(Settings(index_dir=index_dir), [str(folder / "ferry.txt")])
    manifest = assert_consistent(index_dir)
    stored = lexicon_file.load(index_dir, _shape(encoders))
    assert set(stored.entries) == set(manifest.articles)
    assert all(e.sentence_vectors is not None for e in stored.entries.values())  # kept for the rest
    _same_as_fresh(Retriever(Settings(index_dir=index_dir), encoders))
    assert "oslo" in stored.vocab  # a few unused words stay: ids are stable while most are in use
    remove_sources(Settings(index_dir=index_dir), [str(folder)])
    stored = lexicon_file.load(index_dir, _shape(encoders))
    assert stored.entries == {} and stored.vocab == {}  # most words unused: the vocabulary is compacted


def test_the_writers_bm25_is_loaded_only_for_the_articles_it_was_built_for(
    index: tuple[Path, Path], encoders: list[Any]
) -> None:
    index_dir, folder = index
    manifest = assert_consistent(index_dir)
    stored = lexicon_file.load(index_dir, _shape(encoders))
    assert stored.bm25 is not None and stored.bm25_key == lexicon_file.bm25_key(manifest.articles)
    _same_as_fresh(Retriever(Settings(index_dir=index_dir), encoders))  # the stored arrays score alike

    # Weights marked so that using them shows: every posting scores 1.
    assert stored.bm25 is not None
    stored.bm25["weights"] = np.ones_like(stored.bm25["weights"])
    lexicon_file.save(index_dir, stored)
    marked = Retriever(Settings(index_dir=index_dir), encoders).lexical.scores("Oslo Kiel Fähre")
    assert set(np.unique(marked)) <= {0.0, 1.0, 2.0, 3.0} and marked.max() >= 1
    # Built for other articles (a reader opening between the manifest and the lexicon writes):
    # not used, BM25 is built from the terms.
    stored.bm25_key = stored.bm25_key[:-1] if stored.bm25_key else None
    lexicon_file.save(index_dir, stored)
    _same_as_fresh(Retriever(Settings(index_dir=index_dir), encoders))
    # The next index run writes the right ones again.
    (folder / "bridge.txt").write_text(BRIDGE.replace("48 Pfeilern", "52 Pfeilern"), encoding="utf-8")
    index_paths(Settings(index_dir=index_dir), encoders, [folder])
    again = lexicon_file.load(index_dir, _shape(encoders))
    assert again.bm25_key == lexicon_file.bm25_key(read_manifest(index_dir).articles)
    _same_as_fresh(Retriever(Settings(index_dir=index_dir), encoders))


def _same_entries(a: lexicon.Lexicon, b: lexicon.Lexicon) -> bool:
    if a.vocab != b.vocab or set(a.entries) != set(b.entries) or a.bm25_key != b.bm25_key:
        return False
    for aid, x in a.entries.items():
        y = b.entries[aid]
        if x.sha != y.sha or not np.array_equal(x.spans, y.spans):
            return False
        if [t.tolist() for t in x.terms] != [t.tolist() for t in y.terms]:
            return False
        if not np.array_equal(x.sentence_starts, y.sentence_starts):
            return False
        if not np.array_equal(x.sentence_vectors, y.sentence_vectors):
            return False
    bm_a, bm_b = a.bm25 or {}, b.bm25 or {}
    return set(bm_a) == set(bm_b) and all(np.array_equal(bm_a[k], bm_b[k]) for k in bm_a)


# The autouse fixture of every test only points RAG_* at tmp_path: the same for every example.
@settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_a_truncated_or_corrupted_lexicon_file_is_told_and_never_misread(
    data: st.DataObject, seed_index: Path, encoders: list[Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Any cut or flipped bytes: the stored file is either read back exactly (the flip hit bytes
    nothing reads) or refused as damaged, with the line that says so; never an exception, never
    entries that differ from what was written."""
    raw = (seed_index / lexicon_file.FILE).read_bytes()
    shape = _shape(encoders)
    whole = lexicon_file.load(seed_index, shape)
    assert whole.entries and whole.problem is None
    cut = data.draw(st.integers(0, len(raw)), label="cut")
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(1, 255)), max_size=3))
    damaged = bytearray(raw[:cut])
    for at, mask in flips:
        if at < len(damaged):
            damaged[at] ^= mask
    folder = tmp_path_factory.mktemp("lexicon")
    (folder / lexicon_file.FILE).write_bytes(bytes(damaged))
    got = lexicon_file.load(folder, shape)
    if got.entries:
        assert _same_entries(got, whole)
    if got.problem is not None:
        assert not got.entries and "lexicon.npz is damaged" in got.problem
        assert "make it again with: python -m rag index" in got.problem and "\n" not in got.problem
        assert lexicon_file.check(folder) is not None
    elif bytes(damaged) != raw and not got.entries:
        event("read, but made with other settings: ignored")  # a flip inside the stored shape
