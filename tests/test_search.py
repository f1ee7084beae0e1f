"""The dense search of a small index compares every chunk: no close chunk is missed and the same
question finds the same passages after every start (the vector store's approximate graph missed the
second-closest chunk of a news question on some starts and not on others)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

NEWS = Path(__file__).resolve().parents[1] / "bench" / "data" / "news" / "articles"
QUESTIONS = (
    "How many points have the Gunners collected so far?",
    "Wer hat das Tor gegen Sunderland geschossen?",
    "Which company bought the stake in Casinos Austria?",
    "Wie viele Papageien wurden beschlagnahmt?",
    "Womit lassen sich die winzigen Kammern des Bildschirms füllen?",
)


@pytest.fixture(scope="module")
def news_index(tmp_path_factory: pytest.TempPathFactory, encoders) -> Path:  # type: ignore[no-untyped-def]
    """A real index of 12 news articles (more chunks than one search takes from each encoder)."""
    from rag.config import Settings
    from rag.pipeline import Bot

    folder = tmp_path_factory.mktemp("news") / "index"
    articles = [*sorted(NEWS.glob("*.txt"))[:11], *NEWS.glob("099_*.txt")]
    Bot(Settings(index_dir=folder), encoders=encoders).index(articles)
    return folder


def _settings(folder: Path, **retrieve: int):  # type: ignore[no-untyped-def]
    from rag.config import RetrieveSettings, Settings

    return Settings(index_dir=folder, retrieve=RetrieveSettings(**retrieve))


def test_every_chunk_is_compared_and_none_of_the_closest_is_missed(news_index: Path, encoders) -> None:  # type: ignore[no-untyped-def]
    from rag.answering.retrieve import Retriever

    retriever = Retriever(_settings(news_index), encoders)
    n = retriever.settings.retrieve.candidates
    assert len(retriever.chunks) > 2 * n  # a search takes a part of the index, not all of it
    for question in QUESTIONS:
        read = retriever.read(question)
        retriever.search(read)  # waits for the vectors to be read
        held = retriever._held
        assert held is not None
        for vectors, store, enc in zip(held, retriever.stores, encoders, strict=True):
            vec = enc.embed_query(read.searched)
            found = vectors.nearest(vec, n, retriever.chunks.row_of)
            # every chunk's vector, read from the store here, compared with the question's
            chunks = [retriever.chunks[r] for r in range(len(retriever.chunks))]
            got = store.get(ids=[c.id for c in chunks], include=["embeddings"])
            cos = {i: float(np.dot(vec, e)) for i, e in zip(got["ids"], got["embeddings"], strict=True)}
            everything = {r: cos[c.id] for r, c in enumerate(chunks)}
            # what the fusion reads for the other candidates (BM25's) is the same
            some = list(range(0, len(retriever.chunks), 7))
            assert retriever._exact_scores(encoders.index(enc), vec, some) == pytest.approx(
                {r: everything[r] for r in some}, abs=1e-6
            )
            closest = sorted(everything, key=lambda r: -everything[r])[:n]
            assert set(found) == set(closest), question
            assert all(abs(found[r] - everything[r]) < 1e-5 for r in found)


def test_the_same_question_finds_the_same_passages_after_every_start(news_index: Path, encoders) -> None:  # type: ignore[no-untyped-def]
    from rag.pipeline import Bot

    first, again = (Bot(_settings(news_index), encoders=encoders) for _ in range(2))
    for question in QUESTIONS:
        a, b = first.ask(question), again.ask(question)
        assert (a.answer, a.abstained) == (b.answer, b.abstained)
        assert _found(a) == _found(b)


def _found(answer) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    return [(p.article_id, p.start, p.end) for p in answer.passages]


def test_a_large_index_is_searched_through_the_store(news_index: Path, encoders) -> None:  # type: ignore[no-untyped-def]
    from rag.answering.retrieve import Retriever

    exact = Retriever(_settings(news_index), encoders)
    graph = Retriever(_settings(news_index, exact_up_to=10), encoders)  # 'large': more than 10 chunks
    question = "Wie viele Papageien wurden beschlagnahmt?"
    passages, _ = graph.search(question)
    assert graph._held is None and passages
    # on an index this small the graph finds what the exact search finds
    best = exact.search(question)[0][0]
    assert (passages[0].article_id, passages[0].start) == (best.article_id, best.start)
    assert np.isfinite([p.score for p in passages]).all()


ASK = """
import json, sys
from rag.config import Settings
from rag.pipeline import Bot
bot = Bot(Settings(index_dir=sys.argv[1]))
print(json.dumps([[a.answer, a.abstained] for a in map(bot.ask, sys.argv[2:])], ensure_ascii=False))
"""


def test_the_answers_do_not_depend_on_how_the_process_hashes_strings(news_index: Path) -> None:
    """A tie between two equally rare question words was broken by the order of a set of strings,
    which Python varies from process to process: one start quoted a sentence, the next another."""
    runs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", ASK, str(news_index), *QUESTIONS],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert len(runs[0]) == len(QUESTIONS)
    assert runs[0] == runs[1] == runs[2]


WEIGHTS = """
from rag.answering.evidence import _term_weights
from rag.answering.question import read
words = read("Womit lassen sich die winzigen Kammern des Bildschirms füllen?").words
print(list(_term_weights(words, None)), max(_term_weights(words, None).items(), key=lambda kv: kv[1])[0])
"""


def test_equally_rare_question_words_are_weighed_in_one_order_in_every_process() -> None:
    """The evidence ranker's rarest word (and every sum over the question's words) is taken in the
    order of the rarity weights: the same in every process, whatever its string hashing."""
    seen = {
        subprocess.run(
            [sys.executable, "-c", WEIGHTS],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout
        for seed in ("1", "2", "3", "4", "5")
    }
    assert len(seen) == 1
