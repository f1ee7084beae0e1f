"""Training and held-out scoring of the answer models (``python -m rag train``, ``rag eval``).

Data (``rag.training.folds``): the XQuAD-dev articles and the news training questions, each split
into ``FOLDS`` folds by article. Answerable examples are the questions asked against an index of all
articles; unanswerable ones are each fold's questions asked against an index that lacks that fold's
articles (other topics) and the news questions on an article's topic that it does not answer. A
harder XQuAD kind is only measured, not trained on: each question asked against all articles with the
paragraph holding its answer taken out of the search results (same article, same names, no answer);
training on it too was tried (docs/quality.md).

- The sentence model is a conditional logit over the candidate sentences of a question (the one
  holding the gold answer is the target), fitted with L-BFGS.
- The answerability model is a logistic regression on the chosen sentence's signals; its inputs
  for training come from sentence models that did not see the question's fold (cross-fitting).
- The threshold is the highest that declines at most ``MAX_ABSTAIN`` of the training folds'
  answerable questions, in the articles' language and in the other language each.

For held-out figures, fold j is answered by models fitted on the other folds only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.answering import features
from rag.answering.learned import AnswerModel, Linear
from rag.config import Settings
from rag.training.folds import Bench, news_bench, note
from rag.types import Answer

log = logging.getLogger(__name__)

MAX_ABSTAIN = 0.04  # share of answerable training questions the threshold may decline
SENTENCE_L2 = 1.0
ANSWERABLE_C = 1.0


# -- fitting ------------------------------------------------------------------------------------


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 1e-9, scale, 1.0)


def fit_sentence(
    groups: Sequence[tuple[np.ndarray, int]], l2: float = SENTENCE_L2, names: tuple[str, ...] = features.SENTENCE
) -> Linear:
    """Conditional logit: maximise the softmax probability of the gold sentence among each question's
    candidates (questions whose gold sentence is not among them are left out). Also fits the
    short-answer span model, with its feature ``names``."""
    from scipy.optimize import minimize

    groups = [(x, g) for x, g in groups if len(x) > 1]
    mean, scale = _standardise(np.vstack([x for x, _ in groups]))
    zs = [((x - mean) / scale, g) for x, g in groups]
    d = len(mean)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * l2 * float(w @ w), l2 * w
        for z, g in zs:
            s = z @ w
            s = s - s.max()
            p = np.exp(s)
            p /= p.sum()
            total -= float(np.log(p[g] + 1e-12))
            grad = grad + z.T @ p - z[g]
        return total, grad

    res = minimize(loss, np.zeros(d), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return Linear(names, mean, scale, res.x, 0.0)


def fit_answerable(x: np.ndarray, y: np.ndarray, c: float = ANSWERABLE_C) -> Linear:
    from sklearn.linear_model import LogisticRegression

    mean, scale = _standardise(x)
    clf = LogisticRegression(C=c, max_iter=2000, solver="lbfgs")
    clf.fit((x - mean) / scale, y)
    return Linear(features.ANSWERABLE, mean, scale, clf.coef_[0].astype(np.float64), float(clf.intercept_[0]))


def pick_threshold(probs_answerable: np.ndarray, max_abstain: float = MAX_ABSTAIN) -> float:
    """The highest threshold that declines at most ``max_abstain`` of the answerable questions."""
    p = np.sort(probs_answerable)
    k = int(np.floor(max_abstain * len(p)))
    return float(p[k]) if k < len(p) else 0.0


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


_UNUSED = Linear(features.ANSWERABLE, np.zeros(len(features.ANSWERABLE)), np.ones(len(features.ANSWERABLE)),
                 np.zeros(len(features.ANSWERABLE)), 0.0)  # fmt: skip


@dataclass
class Fitted:
    """Per fold the model fitted without it, and the model fitted on everything."""

    by_fold: dict[int, AnswerModel]
    full: AnswerModel
    figures: dict[str, Any]


def fit_all(benches: Sequence[Bench], encoder_names: list[str]) -> Fitted:
    """The sentence and answerability models, per fold and on everything, from every bench's
    questions (fold k of each bench is held out together)."""
    hand = benches[0].answerer(None)
    folds = range(benches[0].n_folds)
    groups: dict[int, list[tuple[np.ndarray, int]]] = {k: [] for k in folds}
    note("sentence candidates")
    for bench in benches:
        for it in bench.items:
            exam = bench.examine(hand, "all", it)
            g = bench.gold_row(exam, it)
            if g is not None:
                groups[bench.fold(it)].append((np.array([e.row for e in exam.ranked]), g))
    sent = {k: fit_sentence([g for j in folds if j != k for g in groups[j]]) for k in folds}
    sent_all = fit_sentence([g for j in folds for g in groups[j]])
    # Answerability inputs of each question, from the sentence model that did not see its fold:
    # answerable against every article; unanswerable against an index without its fold's articles,
    # and the on-topic questions the articles leave open.
    note("answerability inputs")
    vec: dict[int, list[tuple[np.ndarray, int]]] = {k: [] for k in folds}
    for k in folds:
        for bench in benches:
            answerer = bench.answerer(AnswerModel(sent[k], _UNUSED, 0.0, tuple(encoder_names)))
            asked = [(it, key, label) for it in bench.items for key, label in (("all", 1), (bench.key_without(it), 0))]
            asked += [(it, "all", 0) for it in bench.unanswerable]
            for it, key, label in asked:
                if bench.fold(it) == k:
                    exam = bench.examine(answerer, key, it)
                    if exam.vector is not None:
                        vec[k].append((exam.vector, label))

    def answerable_from(folds: list[int]) -> tuple[Linear, float]:
        x = np.array([v for j in folds for v, _ in vec[j]])
        y = np.array([lab for j in folds for _, lab in vec[j]])
        lin = fit_answerable(x, y)
        # The threshold holds for questions in the articles' language and in another one alike.
        same = x[:, features.ANSWERABLE.index("same_lang")] > 0.5
        probs = _sigmoid(lin(x))
        groups = [probs[(y == 1) & (same == s)] for s in (True, False)]
        return lin, min(pick_threshold(g) for g in groups if len(g))

    by_fold = {}
    for k in folds:
        lin, thr = answerable_from([j for j in folds if j != k])
        by_fold[k] = AnswerModel(sent[k], lin, thr, tuple(encoder_names))
    lin, thr = answerable_from(list(folds))
    full = AnswerModel(sent_all, lin, thr, tuple(encoder_names))
    figures = {
        "questions": sum(len(b.items) for b in benches),
        "on_topic_unanswerable": sum(len(b.unanswerable) for b in benches),
        "with_gold_sentence": sum(len(g) for g in groups.values()),
        "answerability_examples": sum(len(v) for v in vec.values()),
    }
    return Fitted(by_fold, full, figures)


def heldout_answers(
    bench: Bench, models: dict[int, AnswerModel | None]
) -> tuple[list[Answer], list[Answer], list[Answer]]:
    """Every question answered by its fold's model: against all articles (answerable), against the
    index lacking its fold, and against all articles but the answer's paragraph (both unanswerable
    by construction). In the order of ``bench.items``."""
    answerers = {k: bench.answerer(m) for k, m in models.items()}
    answerable, unanswerable, off_paragraph = [], [], []
    for it in bench.items:
        a = answerers[bench.fold(it)]
        answerable.append(bench.answer(a, "all", it))
        unanswerable.append(bench.answer(a, bench.key_without(it), it))
        off_paragraph.append(bench.answer(a, "without-paragraph", it))
    return answerable, unanswerable, off_paragraph


def heldout_report(bench: Bench, fitted: Fitted) -> dict[str, Any]:
    """Figures per question language for the hand-set rules and for the learned models, each fold
    answered by models fitted without it; and the final model's in-sample figures for the gap."""
    from rag.training.evaluate import score_xquad

    n = bench.n_folds
    out: dict[str, Any] = {"folds": n, "split": f"by article: every {n}th of the sorted article files"}
    runs = {
        "hand-set": dict.fromkeys(range(n)),
        "learned (held-out)": dict(fitted.by_fold),
        "learned (in-sample)": dict.fromkeys(range(n), fitted.full),
    }
    for name, models in runs.items():
        note(f"answering: {name}")
        ans, una, off = heldout_answers(bench, models)
        rep = score_xquad(bench.items, ans, bench.root)
        out[name] = {}
        for lang in sorted({it.lang for it in bench.items}):
            rates = rep.rates(lang)
            for label, answers in (("abstain_on_unanswerable", una), ("abstain_on_other_paragraph", off)):
                un = [a for a, it in zip(answers, bench.items, strict=True) if it.lang == lang]
                rates[label] = round(sum(a.abstained for a in un) / max(1, len(un)), 4)
            rates["failures"] = rep.failures(lang)
            out[name][lang] = rates
    return out


def news_heldout(bench: Bench, fitted: Fitted) -> dict[str, Any]:
    """The news bench's questions answered by their fold's models: answerable ones against every
    article, then against an index lacking their fold's articles, and the on-topic ones the articles
    leave open; per question language."""
    from rag.training.evaluate import score_xquad

    answerers = {k: bench.answerer(m) for k, m in fitted.by_fold.items()}
    note("answering: news (held-out)")
    ans = [bench.answer(answerers[bench.fold(it)], "all", it) for it in bench.items]
    una = [bench.answer(answerers[bench.fold(it)], bench.key_without(it), it) for it in bench.items]
    open_ = [bench.answer(answerers[bench.fold(it)], "all", it) for it in bench.unanswerable]
    rep = score_xquad(bench.items, ans, bench.root)
    out: dict[str, Any] = {}
    for lang in ("en", "de"):
        rates = {k: v for k, v in rep.rates(lang).items() if k in _KEEP}
        for label, answers, items in (
            ("abstain_on_unanswerable", una, bench.items),
            ("abstain_on_on_topic", open_, bench.unanswerable),
        ):
            un = [a for a, it in zip(answers, items, strict=True) if it.lang == lang]
            rates[label] = round(sum(a.abstained for a in un) / max(1, len(un)), 4)
            rates[f"{label}_questions"] = len(un)
        out[lang] = rates
    return out


_KEEP = (
    "questions",
    "recall_at_1",
    "short_answer_accuracy",
    "abstain_on_answerable",
    "abstain_on_unanswerable",
    "abstain_on_other_paragraph",
)


def train(
    settings: Settings,
    workdir: Path,
    out: Path,
    root: Path,
    report_path: Path | None = None,
    news: Path | None = None,
) -> dict[str, Any]:
    """Fit the answer models on every XQuAD-dev article (and the news training questions under
    ``news``) and write them to ``out`` with the held-out figures of the same procedure run fold by fold."""
    from rag.pipeline import make_encoders
    from rag.training.evaluate import load_xquad

    encoders = make_encoders(settings)
    names = [getattr(e, "name", type(e).__name__) for e in encoders]
    bench = Bench(settings, encoders, load_xquad(root), root, workdir)
    benches = [bench]
    newsb = news_bench(settings, encoders, news, workdir) if news is not None else None
    if newsb is not None:
        benches.append(newsb)
    fitted = fit_all(benches, names)
    report = heldout_report(bench, fitted)
    if newsb is not None:
        report["news (held-out)"] = news_heldout(newsb, fitted)
    held = report["learned (held-out)"]
    info = {
        "data": "XQuAD-dev (bench/data/xquad-dev), English and German questions"
        + ("; news training questions (bench/data/news/train.jsonl)" if newsb is not None else ""),
        "max_abstain_on_answerable": MAX_ABSTAIN,
        **fitted.figures,
        "heldout": {lang: {k: held[lang][k] for k in _KEEP if k != "questions"} for lang in ("en", "de")},
    }
    if newsb is not None:
        info["heldout_news"] = report["news (held-out)"]
    model = AnswerModel(fitted.full.sentence, fitted.full.answerable, fitted.full.threshold, tuple(names), info)
    model.save(out)
    note(f"wrote {out}")
    write_report(report, report_path)
    return report


def write_report(report: dict[str, Any], path: Path | None) -> None:
    """The held-out figures of a training run as JSON (none when ``path`` is None)."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        note(f"wrote {path}")
