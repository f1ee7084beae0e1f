"""The answer models are fitted on news questions too: the training questions load with exact gold
offsets, a sentence's place in its article (teaser, dateline) reaches the sentence model, and a
question naming someone the articles never mention reads as such."""

from __future__ import annotations

import shutil
from pathlib import Path

from rag.answering import features
from rag.articles.chunking import dateline_start
from rag.training.bench import load_news_training
from rag.training.quality import NEWS_DIR

NEWS_ARTICLE = "044_wissenschaft_neues_verfahren_hilft_dabei.txt"


def test_news_training_questions_load_with_their_gold_offsets() -> None:
    facts, open_ = load_news_training(NEWS_DIR)
    assert len(facts) >= 240 and len(open_) >= 80
    for it in facts:
        text = (NEWS_DIR / it.article).read_text(encoding="utf-8")
        assert text[it.start : it.end] == it.answer, it.id
    assert all(it.answer == "" and (NEWS_DIR / it.article).is_file() for it in open_)


def test_the_teaser_and_dateline_of_a_news_article_reach_the_sentence_model(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A real index of one news article: the candidate sentences before its dateline are marked as the
    teaser, the one opening with it as the dateline, and the rest as neither."""
    from rag.config import Settings
    from rag.pipeline import Bot

    folder = tmp_path / "seeds"
    folder.mkdir()
    shutil.copy(NEWS_DIR / "articles" / NEWS_ARTICLE, folder / NEWS_ARTICLE)
    text = (folder / NEWS_ARTICLE).read_text(encoding="utf-8")
    body = dateline_start(text)
    assert body is not None and 0 < body < 400
    bot = Bot(Settings(index_dir=tmp_path / "index"), encoders=encoders)
    bot.index([folder])
    question = bot.retriever.read("Was hilft das neue Verfahren?")
    passages, trace = bot.retriever.search(question.text, 10)
    exam = bot.answerer.examine(question, passages, bot.retriever.articles, trace)
    col = {name: features.SENTENCE.index(name) for name in ("first", "teaser", "dateline")}
    marks = {e.start: tuple(e.row[col[k]] for k in ("first", "teaser", "dateline")) for e in exam.ranked}
    assert marks, "no candidate sentences"
    for start, (first, teaser, dateline) in marks.items():
        assert first == float(start == 0)
        assert teaser == float(start < body)
        assert dateline == float(start == body)
    # One short article: its passages hold the teaser and the dateline sentence among the candidates.
    assert marks.get(0) == (1.0, 1.0, 0.0) and marks.get(body) == (0.0, 0.0, 1.0)


def test_a_name_the_articles_never_hold_is_unknown_and_a_rendered_one_is_known(seed_bot) -> None:  # type: ignore[no-untyped-def]
    """'Macron' is in no article; 'Moscow' is, as the dictionary's 'Moskau'."""
    retriever = seed_bot.retriever
    for text, known in (("What did Macron say about the troops?", 0.0), ("What did Biden say about Moscow?", 1.0)):
        question = retriever.read(text)
        _, trace = retriever.search(text, 5)
        assert features.known_names(question, trace.idf) == known, text
