"""Where the answer step stands, held out: ``python -m bench.ceiling [--workdir DIR] [--out PATH]``.

The answer models are fitted as ``python -m rag train`` fits them (XQuAD-dev and the news training
questions, 4 folds by article, on the indexes kept in ``--workdir``), and every question is answered by
the models fitted without its fold. Reported per question set and language:

- how well the answerability probability separates answerable questions from each unanswerable kind
  (ROC AUC: the chance that an answerable question scores above an unanswerable one), and the share of
  each kind a threshold declines when it declines at most 6% of the answerable ones (fitted on the
  very questions it is read on, so an upper bound): questions asked of an index without their
  articles (other topics), XQuAD questions with their answer's paragraph taken out, and the news
  training set's on-topic questions its articles leave open;
- where the sentence model ranks the sentence holding the gold answer: among the candidates at all,
  first, in the first two and three;
- what reading question and sentence together would cost with the index's own encoder: the
  candidates of the first ``--questions`` English XQuAD questions, each as one "question sentence"
  text through the engine (all candidates, and the best three), against the answer step itself on the
  same questions with its search done (medians over ``--runs``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.training.folds import Bench

TOP = 3  # candidates a reranker reading question and sentence together would read at the least
BUDGET = 0.06  # share of answerable questions a threshold may decline (the news target's bound)


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """The chance that a positive scores above a negative (ties count half): ROC AUC."""
    pos, neg = np.asarray(positive, dtype=float), np.asarray(negative, dtype=float)
    if not len(pos) or not len(neg):
        return float("nan")
    above = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(above / (len(pos) * len(neg)))


def declined_within(positive: Sequence[float], negative: Sequence[float], budget: float = BUDGET) -> float:
    """Share of ``negative`` declined by the highest threshold that declines at most ``budget`` of
    ``positive`` (a question is declined when its probability is below the threshold)."""
    pos = np.sort(np.asarray(positive, dtype=float))
    neg = np.asarray(negative, dtype=float)
    if not len(pos) or not len(neg):
        return float("nan")
    k = int(np.floor(budget * len(pos)))
    threshold = pos[k] if k < len(pos) else np.inf
    return float((neg < threshold).mean())


def rank_shares(ranks: Sequence[int | None]) -> dict[str, float]:
    """Shares of questions whose gold sentence is a candidate at all, first, in the first two and three
    (``ranks``: 0-based place of the gold sentence, None when it is no candidate)."""
    n = max(1, len(ranks))
    placed = [r for r in ranks if r is not None]
    return {
        "gold_candidate": round(len(placed) / n, 3),
        "gold_first": round(sum(r == 0 for r in placed) / n, 3),
        "gold_top2": round(sum(r < 2 for r in placed) / n, 3),
        "gold_top3": round(sum(r < TOP for r in placed) / n, 3),
    }


def standing(bench: Bench, models: dict[int, Any], lang: str) -> dict[str, Any]:
    """The separability and ranking figures of ``bench``'s questions in ``lang``, each answered by the
    model of its fold (``models``: fold -> AnswerModel fitted without it)."""
    answerers = {k: bench.answerer(m) for k, m in models.items()}
    items = [it for it in bench.items if it.lang == lang]

    def probability(exam: Any) -> float:
        return exam.probability if exam.probability is not None else 0.0

    def probabilities(key: Any, asked: Sequence[Any]) -> list[float]:
        return [probability(bench.examine(answerers[bench.fold(it)], key(it), it)) for it in asked]

    exams = [bench.examine(answerers[bench.fold(it)], "all", it) for it in items]  # read twice below
    answerable = [probability(e) for e in exams]
    out: dict[str, Any] = {"questions": len(items)}
    unanswerable = {"other_articles": probabilities(bench.key_without, items)}
    if bench.name == "xquad":
        unanswerable["other_paragraph"] = probabilities(lambda it: "without-paragraph", items)
    else:
        open_ = [it for it in bench.unanswerable if it.lang == lang]
        unanswerable["on_topic"] = probabilities(lambda it: "all", open_)
        out["on_topic_questions"] = len(open_)
    for kind, probs in unanswerable.items():
        out[f"auc_{kind}"] = round(auc(answerable, probs), 3)
        out[f"declined_{kind}_at_{BUDGET}"] = round(declined_within(answerable, probs), 3)
    out.update(rank_shares([bench.gold_row(e, it) for e, it in zip(exams, items, strict=True)]))
    return out


def pair_cost(bench: Bench, models: dict[int, Any], encoder: Any, n: int, runs: int) -> dict[str, float]:
    """Seconds per question to pass every candidate (and the best ``TOP``) with the question through
    ``encoder`` as one text, beside the answer step's own seconds, medians over ``runs``."""
    items = [it for it in bench.items if it.lang == "en"][:n]
    answerers = {k: bench.answerer(m) for k, m in models.items()}
    ranked = {it.question: bench.examine(answerers[bench.fold(it)], "all", it).ranked for it in items}
    timed: dict[str, list[float]] = {"answer_step": [], "pairs_all": [], "pairs_top3": []}
    for _ in range(runs):
        t0 = time.perf_counter()
        for it in items:
            bench.answer(answerers[bench.fold(it)], "all", it)
        timed["answer_step"].append((time.perf_counter() - t0) / len(items))
        for label, cut in (("pairs_all", None), ("pairs_top3", TOP)):
            t0 = time.perf_counter()
            for it in items:
                encoder.embed_documents([f"{it.question} {e.text}" for e in ranked[it.question][:cut]])
            timed[label].append((time.perf_counter() - t0) / len(items))
    out = {f"{k}_seconds": round(statistics.median(v), 4) for k, v in timed.items()}
    out["candidates_mean"] = round(statistics.mean(len(r) for r in ranked.values()), 1)
    for label in ("pairs_all", "pairs_top3"):
        out[f"{label}_ratio"] = round(out[f"{label}_seconds"] / out["answer_step_seconds"], 1)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from rag.pipeline import make_encoders
    from rag.training.evaluate import load_xquad
    from rag.training.folds import news_bench
    from rag.training.quality import NEWS_DIR, XQUAD_DIR
    from rag.training.train import fit_all

    ap = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("bench/cache/train"), help="indexes kept between runs")
    ap.add_argument("--out", type=Path, default=Path("bench/results/ceiling.json"))
    ap.add_argument("--questions", type=int, default=20, help="English XQuAD questions timed")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    settings = Settings()
    encoders = make_encoders(settings)
    names = [getattr(e, "name", type(e).__name__) for e in encoders]
    xquad = Bench(settings, encoders, load_xquad(XQUAD_DIR), XQUAD_DIR, args.workdir)
    news = news_bench(settings, encoders, NEWS_DIR, args.workdir)
    benches = [xquad] + ([news] if news is not None else [])
    fitted = fit_all(benches, names)
    report: dict[str, Any] = {"command": "python -m bench.ceiling " + " ".join(argv or sys.argv[1:])}
    for bench in benches:
        for lang in ("en", "de"):
            report[f"{bench.name} {lang}"] = standing(bench, fitted.by_fold, lang)
            print(bench.name, lang, report[f"{bench.name} {lang}"], file=sys.stderr, flush=True)
    report["cost"] = pair_cost(xquad, fitted.by_fold, encoders[0], args.questions, args.runs)
    print("cost", report["cost"], file=sys.stderr, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
