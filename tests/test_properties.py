"""Property-based tests of the text path (Hypothesis): arbitrary bytes and text through decoding,
sentence splitting, chunking, the stored chunk spans, indexing and answering. Whatever comes in,
nothing crashes, and every chunk, passage and citation is its article's text at its offsets.

The examples are drawn from a fixed seed (``derandomize=True``) and nothing is written to a
Hypothesis database, so every run tries the same inputs.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED, assert_quotes_verbatim
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rag.articles.addresses import AddressGuard
from rag.articles.chunking import article_sentences, chunk_article, paragraphs, sentences, text_hash, widen
from rag.articles.ingest import collect_sources, decode, is_utf8, load, make_article, read_article
from rag.config import Settings
from rag.errors import InputError, one_line
from rag.index import lexicon, lexicon_file, store
from rag.index.folder import read_article_text
from rag.index.manifest import read_manifest
from rag.pipeline import MAX_QUESTION_CHARS, Bot


# The autouse fixture that points RAG_* at a test's tmp_path is function-scoped; it sets the same
# environment for every example, so sharing it across the examples of one test is safe.
def fixed(examples: int) -> settings:
    """A fixed seed, no example database, no deadline (embedding is slow on a busy machine)."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# Pieces of text from many scripts, with the characters that trouble splitters and encoders.
LETTERS = (
    "abcxyzABCXYZäöüßÄÖÜéèçñ"  # Latin with German and French letters
    "абвгдЖЗИЙ"  # Cyrillic
    "αβγΔΣΩ"  # Greek
    "مرحبا"  # Arabic (right to left)
    "שלום"  # Hebrew
    "日本語中文한국어"  # CJK
    "हिन्दी"  # Devanagari with combining signs
    "ภาษาไทย"  # Thai: no spaces between words
    "😀👍🏽🇩🇪"  # emoji, a skin-tone modifier, a flag (two regional indicators)
    "e\u0301n\u0303"  # combining accents
)
DIGITS = "0123456789"
PUNCT = ".!?…;:,-–—„“”»«\"'()[]#*•/&%€$§"
SPACES = " \t\n\r\f\v\u00a0\u2009\u200b\u2028\u2029\u0085\u3000\ufeff\u200e\u200f"
CONTROLS = "\x00\x01\x07\x08\x0e\x1b\x1c\x1f\x7f\x80\x9f"

word = st.text(alphabet=LETTERS + DIGITS, min_size=1, max_size=14)
piece = st.one_of(
    word,
    word,
    word.map(lambda w: w + " "),
    st.sampled_from(list(PUNCT) + [". ", "! ", "? ", "… ", ".\n", "\n\n", "\r\n\r\n", "\n \n", "# ", "- ", "1. "]),
    st.sampled_from(list(SPACES)),
    st.sampled_from(list(CONTROLS)),
    st.integers(200, 3000).map(lambda n: "lang" * (n // 4)),  # a very long line, no space, no sentence end
    st.integers(50, 400).map(lambda n: "ohne Punkt " * (n // 10)),  # words but never a sentence end
)
# Text as a file could hold it (no lone surrogates: decoding never makes them).
any_text = st.one_of(
    st.lists(piece, max_size=60).map("".join),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=400),
)


def _blob(parts: list[bytes]) -> bytes:
    return b"".join(parts)


# Bytes as a file or a web page could hold them: valid and broken UTF-8, other encodings, NULs.
any_bytes = st.one_of(
    st.binary(max_size=600),
    any_text.map(lambda t: t.encode("utf-8")),
    any_text.map(lambda t: t.encode("utf-16")),
    any_text.map(lambda t: t.encode("cp1252", errors="replace")),
    st.lists(
        st.one_of(
            any_text.map(lambda t: t.encode("utf-8")),
            st.binary(max_size=6),
            st.sampled_from([b"\x00", b"\xff", b"\xfe", b"\xc3", b"\xe2\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]),
            st.sampled_from([b"\r\n", b"\r", b"\xef\xbb\xbf", b"\xff\xfe"]),
        ),
        max_size=12,
    ).map(_blob),
)


def _one_line(exc: Exception) -> None:
    event("refused")  # counted in --hypothesis-show-statistics
    message = str(exc)
    assert message and message == one_line(message), repr(message)


# -- decoding ---------------------------------------------------------------------------------


@fixed(400)
@given(data=any_bytes)
def test_any_bytes_decode_to_clean_text_or_a_one_line_refusal(data: bytes) -> None:
    try:
        text, encoding = decode(data, "a.txt")
    except InputError as exc:
        _one_line(exc)
        return
    assert "\r" not in text
    assert text.strip(" \t\n\f\v\ufeff")
    text.encode("utf-8")  # storable: no lone surrogates
    if encoding == "utf-8":
        assert text == data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


@fixed(150)
@given(data=any_bytes)
def test_a_file_of_any_bytes_becomes_an_article_whose_text_is_the_decoded_file(
    data: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("file") / "artikel.txt"
    path.write_bytes(data)
    try:
        loaded = read_article(path, str(path), 100_000)
    except InputError as exc:
        _one_line(exc)
        return
    art = loaded.article
    assert art.text == decode(data, str(path))[0]
    assert art.id == text_hash(art.text)[:16]
    assert art.title and art.lang in ("de", "en")
    if loaded.note is None:  # read as UTF-8: offsets are offsets into the file as Python reads it
        assert art.text == path.read_text(encoding="utf-8")


@fixed(150)
@given(name=st.binary(min_size=1, max_size=40))
def test_a_file_of_any_name_in_a_folder_is_read_or_refused_by_name(
    name: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """File names are bytes: one that is not UTF-8 must not reach the index, which stores names as text."""
    stem = name.replace(b"/", b"_").replace(b"\x00", b"_").lstrip(b".") or b"x"
    folder = tmp_path_factory.mktemp("names")
    (folder / os.fsdecode(stem[:200] + b".txt")).write_text("Die Brücke ist 412 Meter lang.", encoding="utf-8")
    (source,) = collect_sources([folder])
    try:
        article = load(source, 100_000, 1.0, AddressGuard()).article
    except InputError as exc:
        _one_line(exc)
        assert not is_utf8(source.name)
        str(exc).encode("utf-8")  # the message itself can be printed and shown
        return
    assert article.source == source.name and is_utf8(article.source)
    json.dumps({"source": article.source, "title": article.title}, ensure_ascii=False).encode("utf-8")


# -- sentences, chunks, passages --------------------------------------------------------------


def _check_spans(text: str, spans: list[tuple[int, int]], limit: int | None = None) -> None:
    last = 0
    for s, e in spans:
        assert last <= s < e <= len(text), (s, e, len(text))
        assert not text[s].isspace() and not text[e - 1].isspace(), repr(text[s:e])
        if limit is not None:
            assert e - s <= limit
        last = e


@fixed(500)
@given(text=any_text, max_chars=st.sampled_from([40, 120, 360]))
def test_chunks_of_any_text_are_its_text_at_their_offsets(text: str, max_chars: int) -> None:
    _check_spans(text, paragraphs(text))
    sents = sentences(text, limit=max_chars)
    _check_spans(text, [(x.start, x.end) for x in sents], max_chars)
    assert [x.paragraph for x in sents] == sorted(x.paragraph for x in sents)
    article = make_article(text, "a.txt", "A") if text.strip() else None
    if article is None:
        return
    chunks = chunk_article(article, max_chars)
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)
    for c in chunks:
        assert c.text == text[c.start : c.end]
        assert 0 < c.end - c.start <= max_chars
        assert c.id == f"{article.id}:{c.start}-{c.end}"
    assert [c.start for c in chunks] == sorted({c.start for c in chunks})
    # Every sentence is inside a chunk: nothing of the article is left out of the index.
    for x in sents:
        assert any(c.start <= x.start and x.end <= c.end for c in chunks), (x, text[x.start : x.end])
    # Passages are chunks widened to whole sentences, by more of them only within the budget.
    whole = article_sentences(text)
    for c in chunks[:5]:
        touched = [x for x in whole if x.end > c.start and x.start < c.end]
        core = (min(c.start, touched[0].start), max(c.end, touched[-1].end)) if touched else (c.start, c.end)
        for relevance in (None, [float(i % 3) for i in range(len(whole))]):
            lo, hi = widen(text, c.start, c.end, 2 * max_chars, relevance)
            assert 0 <= lo <= core[0] and core[1] <= hi <= len(text)
            assert (lo, hi) == core or hi - lo <= 2 * max_chars
            assert lo in {c.start} | {x.start for x in whole} and hi in {c.end} | {x.end for x in whole}


@fixed(150)
@given(texts=st.lists(any_text.filter(str.strip), min_size=1, max_size=4))
def test_stored_chunk_spans_of_any_articles_read_back_as_the_same_chunks(
    texts: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The lexicon the writer stores (chunk spans, term ids) gives back exactly the chunks that
    chunking makes, after a save and a load from disk."""
    folder = tmp_path_factory.mktemp("lexicon")
    articles = {a.id: a for a in (make_article(t, f"{i}.txt", f"T{i}") for i, t in enumerate(texts))}
    shape = lexicon.shape_of(120, "de", "test")
    made = lexicon.Lexicon.empty(shape)
    for art in articles.values():
        made.entry(art, text_hash(art.text), 120)
    lexicon_file.save(folder, made)
    loaded = lexicon_file.load(folder, shape)
    table = lexicon.ChunkTable(articles, ((aid, loaded.entries[aid].spans) for aid in articles))
    expected = [c for art in articles.values() for c in chunk_article(art, 120)]
    assert list(table) == expected
    assert [table.row_of(c.id) for c in expected] == list(range(len(expected)))


# -- answering --------------------------------------------------------------------------------

SEED_TEXT = SEED.read_text(encoding="utf-8")
seed_words = st.lists(st.sampled_from(SEED_TEXT.split()), min_size=1, max_size=12).map(" ".join)
seed_slice = st.tuples(st.integers(0, len(SEED_TEXT) - 1), st.integers(5, 200)).map(
    lambda p: SEED_TEXT[p[0] : p[0] + p[1]]
)
question = st.one_of(
    seed_words,
    seed_words.map(lambda q: q + "?"),
    seed_slice,
    any_text,
    st.text(max_size=80),
    # Bytes that are not UTF-8 in a command-line argument reach Python as lone surrogates.
    st.tuples(seed_words, st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2)).map("".join),
    st.lists(st.one_of(seed_words, st.sampled_from(list(CONTROLS + SPACES))), max_size=8).map("".join),
    st.integers(MAX_QUESTION_CHARS - 5, MAX_QUESTION_CHARS + 50).map(lambda n: ("Wer sagte das " * 80)[:n]),
)


def _check_answer(answer: Any, texts: dict[str, str]) -> None:
    assert_quotes_verbatim(answer, texts)
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert c.quote and c.quote in answer.answer
    json.dumps(answer.to_json(), ensure_ascii=False)
    event("abstained" if answer.abstained else "answered with citations")
    if answer.abstained:
        assert not answer.citations and answer.short_answer is None


@fixed(60)
@given(q=question)
def test_any_question_gets_a_checked_answer_or_a_one_line_refusal(seed_bot: Bot, q: str) -> None:
    try:
        answer = seed_bot.ask(q)
    except InputError as exc:
        _one_line(exc)
        assert not q.strip() or len(q.strip()) > MAX_QUESTION_CHARS or not is_utf8(q), str(exc)
        return
    texts = {aid: a.text for aid, a in seed_bot.retriever.articles.items()}
    _check_answer(answer, texts)


_names = itertools.count()


@pytest.fixture(scope="module")
def growing(seed_index: Path, tmp_path_factory: pytest.TempPathFactory, encoders: list[Any]) -> tuple[Bot, Path]:
    """A copy of the seed index that the examples below add articles to, and a folder for their files."""
    base = tmp_path_factory.mktemp("grow")
    shutil.copytree(seed_index, base / "index")
    (base / "files").mkdir()
    return Bot(Settings(index_dir=base / "index"), encoders=encoders), base / "files"


# Article text: mostly without control characters, which make a file count as binary.
article_piece = st.one_of(
    word.map(lambda w: w + " "),
    seed_words.map(lambda s: s + ". "),
    st.sampled_from(list(PUNCT) + [". ", "\n\n", "\r\n", "# ", "- "] + list(SPACES)),
    piece,
)
article_text = st.lists(article_piece, min_size=1, max_size=25).map("".join)
article_bytes = st.one_of(
    article_text.map(lambda t: t.encode("utf-8")),
    st.tuples(article_text, st.binary(min_size=1, max_size=3), st.integers(0, 400)).map(
        lambda p: p[0].encode("utf-8")[: p[2]] + p[1] + p[0].encode("utf-8")[p[2] :]  # broken UTF-8 inside
    ),
)


@fixed(14)
@given(data=article_bytes, cut=st.integers(0, 10_000))
def test_any_article_is_indexed_and_answered_from_its_exact_text(
    growing: tuple[Bot, Path], data: bytes, cut: int
) -> None:
    bot, folder = growing
    path = folder / f"artikel-{next(_names)}.txt"
    path.write_bytes(data)
    try:
        bot.index([path])
    except InputError as exc:  # empty or binary: refused, nothing written
        _one_line(exc)
        assert not any(m["source"] == str(path) for m in read_manifest(bot.settings.index_dir).articles.values())
        return
    manifest = read_manifest(bot.settings.index_dir)
    text = decode(data, str(path))[0]
    aid = make_article(text, str(path), "").id
    assert aid in manifest.articles  # (under this or an earlier file name holding the same text)
    assert read_article_text(bot.settings.index_dir, aid) == text
    # Every stored chunk of the article is its text at the stored offsets.
    client = store.make_client(bot.settings.index_dir, None)
    for name in manifest.collections.values():
        got = client.get_collection(name).get(where={"article_id": aid}, include=["documents", "metadatas"])
        assert len(got["ids"]) == manifest.articles[aid]["chunks"]
        for doc, meta in zip(got["documents"], got["metadatas"], strict=True):
            assert doc == text[meta["start"] : meta["end"]]
    # A question taken from the article is answered with quotes that are exactly its text.
    start = cut % max(len(text), 1)
    q = " ".join(text[start : start + 120].split()) or "Was steht im Artikel?"
    try:
        answer = bot.ask(q[:MAX_QUESTION_CHARS])
    except InputError as exc:
        _one_line(exc)
        return
    texts = {a: art.text for a, art in bot.retriever.articles.items()}
    assert texts[aid] == text
    _check_answer(answer, texts)
