"""Training and held-out scoring of the short-answer span model (``python -m rag train-spans``).

Examples: every XQuAD-dev question (English and German) and every answerable news training question
(``bench/data/news/train.jsonl``) with the article sentence holding its gold answer; the target is
the candidate with the highest token F1 against the gold answer (ties: the one holding the whole
answer, then the shorter). The scorer is the conditional logit of the sentence model
(``train.fit_sentence``). The threshold is the least softmax probability at which the model's
answers, predicted for questions it was not fitted on (folds inside the training data), hold most
of the gold answer's words (token F1 >= 0.5) at least ``PRECISION`` of the time; below it the
whole sentence is shown. Folds are the answer models' (by article, in each question set).

Held-out figures: the gold sentences of each fold's questions, the news check set's gold sentences
(never fitted on), and XQuAD answered end to end (retrieval, the shipped answer model's evidence
choice, the fold's span model) against the typed rules alone.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.answering import extract, spanmodel
from rag.answering.answer import Answerer
from rag.answering.learned import Linear
from rag.answering.learned import load as load_answer_model
from rag.articles.chunking import article_sentences
from rag.config import Settings
from rag.training.evaluate import XQuADItem, contains_any, loose, score_xquad, token_f1
from rag.training.folds import FOLDS, Bench, fold_of, load_news_training, note
from rag.training.train import fit_sentence, write_report
from rag.types import Answer, Question

SPAN_L2 = 1.0
PRECISION = 0.7  # share of the model's shown short answers that should hold most of the gold's words
RIGHT_F1 = 0.5
GRID = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.05))


@dataclass
class Example:
    item: XQuADItem
    fold: int  # its article's fold in its question set
    sentence: str
    texts: list[str]  # the candidates
    x: np.ndarray
    f1: np.ndarray
    holds: np.ndarray  # the candidate contains the whole gold answer
    today: str  # today's short answer from this sentence (the sentence itself when no typed span)
    typed: bool  # today's typed rules gave a span


def examples(
    answerer: Answerer, items: Sequence[XQuADItem], root: Path, read: Callable[[str], Question], folds: dict[str, int]
) -> list[Example]:
    """Every item whose gold answer lies inside one sentence of its article, with its candidates."""
    out = []
    for it in items:
        text = (root / it.article).read_text(encoding="utf-8")
        sent = next((s for s in article_sentences(text) if s.start <= it.start and it.end <= s.end), None)
        if sent is None:
            continue
        sentence = text[sent.start : sent.end]
        question = read(it.question)
        today = answerer.typed_short(question, sentence, extract.typed_spans(sentence, question))
        cands, x = answerer.span_rows(question, sentence, today)
        f1 = np.array([token_f1(c.text, it.answer) for c in cands])
        holds = np.array([contains_any(c.text, [it.answer]) for c in cands], dtype=bool)
        shown = today.text if today else sentence
        out.append(Example(it, folds[it.article], sentence, [c.text for c in cands], x, f1, holds, shown, bool(today)))
    return out


def target(ex: Example) -> int | None:
    """The best candidate by F1 (ties: the one holding the whole gold answer, then the shorter);
    None when none shares a word with the gold."""
    if not len(ex.f1) or ex.f1.max() <= 0:
        return None
    best = np.flatnonzero(ex.f1 >= ex.f1.max() - 1e-9)
    return int(min(best, key=lambda k: (not ex.holds[k], len(ex.texts[k]))))


def _scorer(train: Sequence[Example]) -> Linear:
    return fit_sentence([(ex.x, g) for ex in train if (g := target(ex)) is not None], SPAN_L2, spanmodel.FEATURES)


def _best(scorer: Linear, ex: Example) -> tuple[int, float]:
    return spanmodel.SpanModel(scorer, 0.0).choose(ex.x) or (0, 0.0)


def threshold(picked: Sequence[tuple[Example, int, float]]) -> float:
    """The least probability at which the model's picks (for questions the typed rules leave
    without a span) hold most of the gold's words at least ``PRECISION`` of the time."""
    free = [(ex, k, p) for ex, k, p in picked if not ex.typed and len(ex.texts)]
    for t in GRID:
        above = [ex.f1[k] >= RIGHT_F1 for ex, k, p in free if p >= t]
        if above and statistics.fmean(above) >= PRECISION:
            return t
    return 1.0


def fit(train: Sequence[Example]) -> spanmodel.SpanModel:
    """The scorer fitted on ``train``; its threshold from predictions for each of its folds by a
    scorer fitted on the others."""
    picked = []
    for k in sorted({ex.fold for ex in train}):
        inner = _scorer([ex for ex in train if ex.fold != k])
        picked += [(ex, *_best(inner, ex)) for ex in train if ex.fold == k]
    return spanmodel.SpanModel(_scorer(train), threshold(picked))


def pick(model: spanmodel.SpanModel | None, ex: Example) -> str:
    """The short answer as ``Answerer._short`` gives it: today's typed span when there is one."""
    chosen = model.choose(ex.x) if model is not None and not ex.typed else None
    return ex.texts[chosen[0]] if chosen is not None else ex.today


def figures(items: Sequence[XQuADItem], shorts: Sequence[str | None], lang: str) -> dict[str, float]:
    """Token F1, exact match (up to case, punctuation and articles), contains-the-gold and mean
    length of the short answers to the questions in ``lang`` (a declined question scores 0)."""
    pairs = [(it, s) for it, s in zip(items, shorts, strict=True) if it.lang == lang]
    given = [s for _, s in pairs if s is not None]
    return {
        "questions": len(pairs),
        "token_f1": round(statistics.fmean(token_f1(s, it.answer) for it, s in pairs), 4),
        "exact": round(statistics.fmean(s is not None and loose(s) == loose(it.answer) for it, s in pairs), 4),
        "contains_gold": round(statistics.fmean(contains_any(s, [it.answer]) for it, s in pairs), 4),
        "mean_chars": round(statistics.fmean(len(s) for s in given), 1) if given else 0.0,
    }


def _gold_rows(exs: Sequence[Example], held: Sequence[str]) -> dict[str, Any]:
    items = [e.item for e in exs]
    return {
        name: {lang: figures(items, shorts, lang) for lang in ("en", "de")}
        for name, shorts in (("today", [e.today for e in exs]), ("spans", held))
    }


def _short(a: Answer) -> str | None:
    return None if a.abstained else a.short_answer


def train_spans(
    settings: Settings, workdir: Path, out: Path, root: Path, report_path: Path | None, news: Path | None = None
) -> dict[str, Any]:
    from rag.pipeline import make_encoders
    from rag.training.evaluate import load_xquad

    encoders = make_encoders(settings)
    items = load_xquad(root)
    bench = Bench(settings, encoders, items, root, workdir)
    answer_model = load_answer_model(settings.answer.model)
    plain = bench.answerer(answer_model)
    read = bench.retriever("all").read  # with the dictionary's renderings and the thesaurus's synonyms
    note("span candidates of the gold sentences")
    exs = examples(plain, items, root, read, bench.folds)
    sets = {"xquad": exs}
    checks: list[Example] = []
    if news is not None and (news / "train.jsonl").is_file():
        facts, _ = load_news_training(news)
        sets["news"] = examples(plain, facts, news, read, fold_of(sorted({it.article for it in facts}), FOLDS))
        checked, _ = load_news_training(news, "questions.jsonl")
        checks = examples(plain, checked, news, read, {it.article: -1 for it in checked})
    everything = [e for group in sets.values() for e in group]
    by_fold = {k: fit([e for e in everything if e.fold != k]) for k in range(FOLDS)}
    full = fit(everything)
    report: dict[str, Any] = {
        "folds": FOLDS,
        "split": f"by article: every {FOLDS}th of the sorted article files, in each question set",
        "threshold": full.threshold,
        "fold_thresholds": [by_fold[k].threshold for k in range(FOLDS)],
    }
    for name, group in sets.items():
        held = [pick(by_fold[e.fold], e) for e in group]
        report[f"gold sentence, {name} (held-out)"] = _gold_rows(group, held)
    if checks:
        report["gold sentence, news check set (never fitted)"] = _gold_rows(checks, [pick(full, e) for e in checks])
    note("answering end to end: today, then each fold's span model")
    before = [_short(bench.answer(plain, "all", it)) for it in items]
    answerers = {k: bench.answerer(answer_model) for k in range(FOLDS)}
    for k, a in answerers.items():
        a.span_model = by_fold[k]
    answers = [bench.answer(answerers[bench.fold(it)], "all", it) for it in items]
    after = [_short(a) for a in answers]
    rep = score_xquad(items, answers, root)
    for name, shorts in (("end to end, today", before), ("end to end, spans (held-out)", after)):
        report[name] = {lang: figures(items, shorts, lang) for lang in ("en", "de")}
    report["end to end, spans (held-out)"]["sentence_recall_at_1"] = {
        lang: rep.rates(lang)["recall_at_1"] for lang in ("en", "de")
    }
    info = {
        "data": "XQuAD-dev (bench/data/xquad-dev) and the news training questions (bench/data/news/train.jsonl), "
        "English and German questions, the gold answer's sentence",
        "examples": len(everything),
        "with_target": sum(target(e) is not None for e in everything),
        "heldout": report["end to end, spans (held-out)"],
        "today": report["end to end, today"],
    }
    spanmodel.SpanModel(full.scorer, full.threshold, info).save(out)
    note(f"wrote {out}")
    write_report(report, report_path)
    return report
