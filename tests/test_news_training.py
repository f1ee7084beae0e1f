"""The answer models are fitted on news questions too: the training questions load with exact gold
offsets, a sentence's place in its article (teaser, dateline) reaches the sentence model, and a
question naming someone the articles never mention reads as such."""

from __future__ import annotations

import shutil
from pathlib import Path

from rag.answering import features
from rag.articles.chunking import dateline_start
from rag.training.folds import load_news_training
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
        assert features.known_share(question.names, question.alternatives, trace.idf) == known, text


def test_the_models_fit_on_xquad_and_news_questions_together(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Two folds of each: the news questions of two articles (with their on-topic questions the
    articles leave open) over an index that also holds articles nobody asked about, beside XQuAD."""
    from rag.config import Settings
    from rag.training.evaluate import load_xquad, same_file
    from rag.training.folds import Bench
    from rag.training.quality import XQUAD_DIR, select
    from rag.training.train import fit_all, news_heldout

    facts, open_ = load_news_training(NEWS_DIR)
    asked = sorted({it.article for it in facts})[:2]
    facts = [it for it in facts if it.article in asked]
    open_ = [it for it in open_ if it.article in asked]
    corpus = [*asked, "articles/000_sport_oefb_teamspieler_nur_sechs.txt", f"articles/{NEWS_ARTICLE}"]
    news = Bench(Settings(), encoders, facts, NEWS_DIR, tmp_path, 2, name="news", corpus=corpus, unanswerable=open_)
    items, _ = select(load_xquad(XQUAD_DIR), articles=2, limit=6)
    xquad = Bench(Settings(), encoders, items, XQUAD_DIR, tmp_path, 2)
    assert len(news.retriever("all").articles) == 4
    fitted = fit_all([xquad, news], [e.name for e in encoders])
    assert fitted.figures["on_topic_unanswerable"] == len(open_) == 4
    assert fitted.figures["questions"] == len(items) + len(facts)
    report = news_heldout(news, fitted)
    for lang in ("en", "de"):
        assert report[lang]["questions"] == 6 and report[lang]["abstain_on_on_topic_questions"] == 2
        assert 0.0 <= report[lang]["abstain_on_on_topic"] <= 1.0
    # The index without a fold's article holds none of it: those questions are other-article negatives.
    for it in facts:
        without = news.retriever(news.key_without(it)).articles.values()
        assert not any(same_file(a.source, str(NEWS_DIR / it.article)) for a in without)


def test_an_index_kept_from_other_folds_is_built_again_without_the_folds_articles(encoders, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """More training articles move articles between folds; a kept 'without fold K' index that still
    holds one of fold K's articles would turn its questions into answerable ones."""
    from rag.config import Settings
    from rag.training.evaluate import same_file
    from rag.training.folds import Bench

    facts, _ = load_news_training(NEWS_DIR)
    names = sorted({it.article for it in facts})[:3]
    corpus = [*names, f"articles/{NEWS_ARTICLE}"]
    first = Bench(Settings(), encoders, [it for it in facts if it.article in names[:2]], NEWS_DIR, tmp_path, 2,
                  name="news", corpus=corpus)  # fmt: skip
    assert len(first.retriever("without-0").articles) == 3  # names[0] is fold 0, names[2] in no fold
    later = Bench(Settings(), encoders, [it for it in facts if it.article in names], NEWS_DIR, tmp_path, 2,
                  name="news", corpus=corpus)  # fmt: skip
    assert later.folds[names[2]] == 0 and later.folds[names[1]] == 1
    kept = later.retriever("without-0").articles.values()  # names[2] joined fold 0: gone now too
    assert not any(same_file(a.source, str(NEWS_DIR / n)) for a in kept for n in (names[0], names[2]))
    assert len(kept) == 2


def test_the_check_set_loads_its_facts_and_open_questions_only() -> None:
    facts, open_ = load_news_training(NEWS_DIR, "questions.jsonl")
    assert len(facts) == 100 and len(open_) == 28  # overview, collection and metadata questions left out
    for it in facts:
        assert (NEWS_DIR / it.article).read_text(encoding="utf-8")[it.start : it.end] == it.answer, it.id


def test_the_span_model_fits_on_news_questions_with_the_real_candidates(encoders) -> None:  # type: ignore[no-untyped-def]
    """Span examples of two news articles' training questions (real tagger and encoder): each keeps
    the candidate closest to the gold answer as its target, and a model fitted on them picks a
    candidate of the sentence or shows the sentence."""
    from rag.answering.answer import Answerer
    from rag.answering.question import read
    from rag.config import Settings
    from rag.training import spans as span_training

    facts, _ = load_news_training(NEWS_DIR)
    articles = sorted({it.article for it in facts})[:2]
    items = [it for it in facts if it.article in articles]
    answerer = Answerer(Settings().answer, encoders[-1], encoders[0])
    folds = {a: k for k, a in enumerate(articles)}
    exs = span_training.examples(answerer, items, NEWS_DIR, read, folds)
    assert len(exs) == len(items) >= 10
    with_target = [e for e in exs if (g := span_training.target(e)) is not None]
    assert len(with_target) >= 0.8 * len(exs)
    for e in with_target:
        g = span_training.target(e)
        assert e.f1[g] == e.f1.max() > 0
        assert e.texts[g] in e.sentence
    model = span_training.fit(exs)
    assert model.threshold in (*span_training.GRID, 1.0)
    for e in exs:
        shown = span_training.pick(model, e)
        assert shown in e.texts or shown == e.today
