"""Sentences analysed when indexed: every sentence's tags kept with the index, read by the answers
instead of tagging again, versioned so tags of another analysis are made again by the next run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.answering import spans
from rag.articles.chunking import article_sentences
from rag.config import Settings
from rag.index import lexicon_file
from rag.pipeline import Bot

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
WHO = "Who phoned Putin?"
WHERE = "In welches Land schicken die USA weitere 400 Soldaten?"


def test_indexing_keeps_every_sentences_tags_as_the_tagger_gives_them(seed_index: Path, encoders: Any) -> None:
    retriever = Bot(Settings(index_dir=seed_index), encoders=encoders).retriever
    with np.load(seed_index / lexicon_file.FILE, allow_pickle=False) as z:
        assert str(z["analysis"]) == spans.analysis_version()
    assert retriever.sentence_tags, "the index keeps no sentence tags"
    checked = 0
    for aid, tags in retriever.sentence_tags.items():
        text = retriever.articles[aid].text
        for s in article_sentences(text):
            kept = tags.of(s.start)
            assert kept is not None, f"no tags kept for the sentence at {s.start}"
            fresh = [t.tag for t in spans.tag(text[s.start : s.end])]
            assert [spans.CODES[c] for c in kept.tolist()] == fresh
            checked += 1
    assert checked >= 10


class Counting:
    """The real HanTa tagger, counting the sentences it is asked to tag."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    def tag_sent(self, words: list[str], taglevel: int = 1) -> Any:
        self.calls += 1
        return self.inner.tag_sent(words, taglevel=taglevel)


@pytest.mark.parametrize("question", [WHO, WHERE])
def test_answers_read_the_kept_tags_and_equal_answers_that_tag_again(
    seed_index: Path, encoders: Any, monkeypatch: pytest.MonkeyPatch, question: str
) -> None:
    real = spans.tagger()
    if real is None:
        pytest.skip("HanTa is not installed: tags come from word shapes, nothing is tagged")
    counting = Counting(real)
    monkeypatch.setattr(spans, "tagger", lambda: counting)
    bot = Bot(Settings(index_dir=seed_index), encoders=encoders)
    kept = bot.ask(question)
    assert counting.calls == 0, "an answer tagged a sentence the index had tagged"
    bot.retriever.sentence_tags.clear()  # as an index made before the tags were kept
    again = bot.ask(question)
    assert counting.calls > 0
    assert (kept.abstained, kept.short_answer, kept.answer) == (again.abstained, again.short_answer, again.answer)
    assert kept.short_answer == ("Deutschland" if question == WHERE else "Biden")


def _rewrite(index_dir: Path, change: str) -> None:
    """The stored lexicon as another analysis version left it, or as written before tags were kept."""
    path = index_dir / lexicon_file.FILE
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if change == "other version":
        arrays["analysis"] = np.array("a0-hanta-0.0")
    else:
        for k in ("analysis", "tag_art", "tag_starts", "tag_lens", "tag_codes"):
            arrays.pop(k)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("change", ["other version", "no tags kept"])
def test_tags_of_another_analysis_are_not_used_and_the_next_index_run_makes_them(
    seed_index: Path, encoders: Any, tmp_path: Path, change: str
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index, index_dir)
    _rewrite(index_dir, change)
    bot = Bot(Settings(index_dir=index_dir), encoders=encoders)
    retriever = bot.retriever
    assert retriever.sentence_tags == {}
    if change == "other version":
        assert any("sentence analysis" in n and "python -m rag index" in n for n in retriever.notices)
    else:
        assert not any("sentence analysis" in n for n in retriever.notices)
    before = bot.ask(WHERE)
    assert before.short_answer == "Deutschland"  # answers tag the sentence themselves

    report = bot.index([SEEDS])
    assert report.chunks_embedded == 0  # only the analysis was made again
    reopened = Bot(Settings(index_dir=index_dir), encoders=encoders).retriever
    assert reopened.sentence_tags and not any("sentence analysis" in n for n in reopened.notices)
    with np.load(index_dir / lexicon_file.FILE, allow_pickle=False) as z:
        assert str(z["analysis"]) == spans.analysis_version()
