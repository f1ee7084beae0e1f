"""Training and held-out scoring of the short-answer span model (``python -m rag train-spans``).

Examples: every XQuAD-dev question (English and German) with the article sentence holding its gold
answer; the target is the candidate with the highest token F1 against the gold answer (ties: the
shorter). The scorer is the conditional logit of the sentence model (``train.fit_sentence``), the
threshold the least softmax probability below which today's typed rules answer instead, chosen on
the training folds. Folds are the answer models' (by article). Held-out figures: each fold's
questions answered end to end (retrieval, the shipped answer model's evidence choice, the fold's
span model) against today's short answers.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.answering import extract, spanmodel
from rag.answering.answer import Answerer
from rag.answering.learned import load as load_answer_model
from rag.answering.question import read
from rag.articles.chunking import article_sentences
from rag.config import Settings
from rag.training.evaluate import XQuADItem, contains_any, loose, score_xquad, token_f1
from rag.training.folds import FOLDS, Bench, fold_of, note
from rag.training.train import fit_sentence, write_report
from rag.types import Answer

SPAN_L2 = 1.0


@dataclass
class Example:
    item: XQuADItem
    texts: list[str]  # the candidates
    x: np.ndarray
    f1: np.ndarray
    today: str  # today's short answer from this sentence (the sentence itself when no typed span)
    typed: bool  # today's typed rules gave a span


def examples(answerer: Answerer, items: Sequence[XQuADItem], root: Path) -> list[Example]:
    """Every item whose gold answer lies inside one sentence of its article, with its candidates."""
    out = []
    for it in items:
        text = (root / it.article).read_text(encoding="utf-8")
        sent = next((s for s in article_sentences(text) if s.start <= it.start and it.end <= s.end), None)
        if sent is None:
            continue
        sentence = text[sent.start : sent.end]
        question = read(it.question)
        typed = extract.typed_spans(sentence, question)
        today = answerer.typed_short(question, sentence, typed)
        cands, x = answerer.span_rows(question, sentence, today)
        f1 = np.array([token_f1(c.text, it.answer) for c in cands])
        out.append(Example(it, [c.text for c in cands], x, f1, today.text if today else sentence, today is not None))
    return out


def target(ex: Example) -> int | None:
    """The best candidate by F1, the shorter on a tie; None when none shares a word with the gold."""
    if not len(ex.f1) or ex.f1.max() <= 0:
        return None
    best = np.flatnonzero(ex.f1 == ex.f1.max())
    return int(min(best, key=lambda k: len(ex.texts[k])))


def fit(train: Sequence[Example]) -> spanmodel.SpanModel:
    groups = [(ex.x, g) for ex in train if (g := target(ex)) is not None]
    lin = fit_sentence(groups, SPAN_L2, spanmodel.FEATURES)
    model = spanmodel.SpanModel(lin, 0.0)
    # The threshold: the one giving the best mean F1 on the training examples, falling back to today's answer.
    best_t, best_f1 = 0.0, -1.0
    for t in np.arange(0.0, 0.61, 0.05):
        m = spanmodel.SpanModel(lin, float(t))
        f1 = statistics.fmean(token_f1(pick(m, ex), ex.item.answer) for ex in train)
        if f1 > best_f1 + 1e-9:
            best_t, best_f1 = float(t), f1
    return spanmodel.SpanModel(model.scorer, best_t)


def pick(model: spanmodel.SpanModel | None, ex: Example) -> str:
    """The short answer as ``Answerer._short`` gives it: today's typed span when there is one."""
    typed = ex.typed
    chosen = model.choose(ex.x) if model is not None and not typed else None
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


def _short(a: Answer) -> str | None:
    return None if a.abstained else a.short_answer


def train_spans(settings: Settings, workdir: Path, out: Path, root: Path, report_path: Path | None) -> dict[str, Any]:
    from rag.pipeline import make_encoders
    from rag.training.evaluate import load_xquad

    encoders = make_encoders(settings)
    items = load_xquad(root)
    bench = Bench(settings, encoders, items, root, workdir)
    answer_model = load_answer_model(settings.answer.model)
    plain = bench.answerer(answer_model)
    note("span candidates of the gold sentences")
    exs = examples(plain, items, root)
    folds = fold_of(sorted({it.article for it in items}), FOLDS)
    by_fold = {k: fit([e for e in exs if folds[e.item.article] != k]) for k in range(FOLDS)}
    full = fit(exs)
    report: dict[str, Any] = {"folds": FOLDS, "split": f"by article: every {FOLDS}th of the sorted article files"}
    gold_items = [e.item for e in exs]
    held = [pick(by_fold[folds[e.item.article]], e) for e in exs]
    for name, shorts in (("today", [e.today for e in exs]), ("spans (held-out)", held)):
        report[f"gold sentence, {name}"] = {lang: figures(gold_items, shorts, lang) for lang in ("en", "de")}
    note("answering end to end: today, then each fold's span model")
    before = [_short(bench.answer(plain, "all", it)) for it in items]
    answerers = {k: bench.answerer(answer_model) for k in range(FOLDS)}
    for k, a in answerers.items():
        a.span_model = by_fold[k]
    answers = [bench.answer(answerers[folds[it.article]], "all", it) for it in items]
    after = [_short(a) for a in answers]
    rep = score_xquad(items, answers, root)
    for name, shorts in (("end to end, today", before), ("end to end, spans (held-out)", after)):
        report[name] = {lang: figures(items, shorts, lang) for lang in ("en", "de")}
    report["end to end, spans (held-out)"]["sentence_recall_at_1"] = {
        lang: rep.rates(lang)["recall_at_1"] for lang in ("en", "de")
    }
    info = {
        "data": "XQuAD-dev (bench/data/xquad-dev), English and German questions, the gold answer's sentence",
        "examples": len(exs),
        "with_target": sum(target(e) is not None for e in exs),
        "heldout": report["end to end, spans (held-out)"],
        "today": report["end to end, today"],
    }
    spanmodel.SpanModel(full.scorer, full.threshold, info).save(out)
    note(f"wrote {out}")
    write_report(report, report_path)
    return report
