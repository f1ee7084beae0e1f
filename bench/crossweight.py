"""The BM25 weight for questions in another language than the articles, fitted held out:
``python -m bench.crossweight [--workdir DIR] [--out PATH]``.

XQuAD-dev's 24 German articles are split into the 4 folds of ``python -m rag train`` (by article).
For each fold, the weight (``RAG_RETRIEVE__LEXICAL_WEIGHT_CROSS_LANG``) with the best English recall@1,
then recall@5, on the other three folds is taken from a grid, and the fold's English questions are
scored with it. This is done twice: BM25 searching the questions' German renderings (the dictionary),
and searching their own words (no dictionary: the behaviour before). German questions do not use this
weight; their recall is printed beside. Recall is the product's: the passages ``Retriever.search``
returns, a hit when one covers the gold answer span (``rag.training.evaluate.covers``), over one index
of all 24 articles.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from rag.answering.evidence import VectorMemo
from rag.config import Settings
from rag.pipeline import make_encoders
from rag.training.evaluate import XQuADItem, covers, load_xquad
from rag.training.folds import Bench
from rag.training.quality import XQUAD_DIR
from rag.training.report import LANGS

GRID = [round(0.1 * i, 1) for i in range(11)]
SHOWN = 5
MODES = ("dictionary", "own words")


Ranks = list[int | None]  # per question: the first passage covering its gold span (1-based), None past SHOWN


def ranks(bench: Bench, settings: Settings, items: list[XQuADItem], weights: list[float]) -> dict[float, Ranks]:
    """Per weight, the ranks of ``items`` searched over all articles."""
    retriever = bench.retriever("all")
    # Each question is searched once per weight: its vectors are made once (search reads only embed_query).
    retriever.encoders = [VectorMemo(e) for e in retriever.encoders]
    out: dict[float, Ranks] = {w: [] for w in weights}
    for n, item in enumerate(items, 1):
        gold = str(XQUAD_DIR / item.article)
        for w in weights:
            retriever.settings = settings.model_copy(
                update={"retrieve": settings.retrieve.model_copy(update={"lexical_weight_cross_lang": w})}
            )
            passages, _ = retriever.search(item.question, SHOWN)
            hit = (i for i, p in enumerate(passages, 1) if covers(p.source, p.start, p.end, gold, item.start, item.end))
            out[w].append(next(hit, None))
        if n % 100 == 0:
            print(f"  {n}/{len(items)} questions", file=sys.stderr, flush=True)
    return out


def recall(rs: Ranks) -> dict[str, float]:
    return {
        "questions": len(rs),
        "recall_at_1": round(statistics.fmean(r == 1 for r in rs), 4) if rs else 0.0,
        "recall_at_5": round(statistics.fmean(r is not None for r in rs), 4) if rs else 0.0,
    }


def best(grid: dict[float, Ranks], keep: list[bool]) -> float:
    """The weight with the most rank-1 hits among the kept questions, then the most in the first 5; ties
    go to the smaller weight."""
    return max(
        grid,
        key=lambda w: (
            sum(r == 1 for r, k in zip(grid[w], keep, strict=True) if k),
            sum(r is not None for r, k in zip(grid[w], keep, strict=True) if k),
            -w,
        ),
    )


def fit(grid: dict[float, Ranks], folds: list[int], n_folds: int) -> dict[str, Any]:
    """Held-out: each fold scored at the weight fitted on the others; in-sample: one weight for all."""
    per_fold = []
    held: Ranks = [None] * len(folds)
    for j in range(n_folds):
        w = best(grid, [f != j for f in folds])
        rows = [i for i, f in enumerate(folds) if f == j]
        for i in rows:
            held[i] = grid[w][i]
        per_fold.append({"fold": j, "weight": w, **recall([grid[w][i] for i in rows])})
    w_all = best(grid, [True] * len(folds))
    return {
        "folds": per_fold,
        "heldout": recall(held),
        "default": statistics.median(f["weight"] for f in per_fold),
        "in_sample": {"weight": w_all, **recall(grid[w_all])},
        "grid": {str(w): recall(rs) for w, rs in grid.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("bench/cache/train"), help="indexes kept between runs")
    parser.add_argument("--out", type=Path, default=Path("bench/results/crossweight.json"))
    parser.add_argument("--limit", type=int, default=None, help="at most N questions (evenly spaced), for a quick look")
    args = parser.parse_args()
    settings = Settings()
    if settings.dictionary is None or not settings.dictionary.expanduser().exists():
        parser.error(f"the dictionary {settings.dictionary} is missing: apt-get install trans-de-en")
    items = load_xquad(XQUAD_DIR, LANGS)
    bench = Bench(settings, make_encoders(settings), items, XQUAD_DIR, args.workdir)
    asked = {lang: [it for it in items if it.lang == lang] for lang in LANGS}
    if args.limit:
        asked = {lang: [its[i * len(its) // args.limit] for i in range(args.limit)] for lang, its in asked.items()}
    folds = [bench.fold(it) for it in asked["en"]]
    report: dict[str, Any] = {"command": " ".join(["python -m bench.crossweight", *sys.argv[1:]]), "grid": GRID}
    for mode in MODES:
        print(f"English questions, {mode}", file=sys.stderr, flush=True)
        used = settings if mode == "dictionary" else settings.model_copy(update={"dictionary": None})
        report[mode] = fit(ranks(bench, used, asked["en"], GRID), folds, bench.n_folds)
    print("German questions", file=sys.stderr, flush=True)
    de = ranks(bench, settings, asked["de"], [settings.retrieve.lexical_weight_cross_lang])
    de_ranks = next(iter(de.values()))
    de_folds = [bench.fold(it) for it in asked["de"]]
    report["de"] = {
        "folds": [recall([r for r, f in zip(de_ranks, de_folds, strict=True) if f == j]) for j in range(bench.n_folds)],
        "all": recall(de_ranks),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(table(report))


def table(report: dict[str, Any]) -> str:
    lines = [
        "| fold | English, dictionary: weight | recall@1 | recall@5 | English, own words: weight | recall@1 "
        "| recall@5 | German recall@1 | recall@5 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    d, o, de = report["dictionary"], report["own words"], report["de"]
    for j, (a, b, g) in enumerate(zip(d["folds"], o["folds"], de["folds"], strict=True)):
        lines.append(
            f"| {j} ({a['questions']} q.) | {a['weight']} | {a['recall_at_1']:.3f} | {a['recall_at_5']:.3f} "
            f"| {b['weight']} | {b['recall_at_1']:.3f} | {b['recall_at_5']:.3f} "
            f"| {g['recall_at_1']:.3f} | {g['recall_at_5']:.3f} |"
        )
    a, b, g = d["heldout"], o["heldout"], de["all"]
    lines.append(
        f"| held out, all | | {a['recall_at_1']:.3f} | {a['recall_at_5']:.3f} | | {b['recall_at_1']:.3f} "
        f"| {b['recall_at_5']:.3f} | {g['recall_at_1']:.3f} | {g['recall_at_5']:.3f} |"
    )
    a, b = d["in_sample"], o["in_sample"]
    lines.append(
        f"| in-sample | {a['weight']} | {a['recall_at_1']:.3f} | {a['recall_at_5']:.3f} | {b['weight']} "
        f"| {b['recall_at_1']:.3f} | {b['recall_at_5']:.3f} | | |"
    )
    lines.append(f"\nmedian of the folds' weights: dictionary {d['default']}, own words {o['default']}")
    lines.append("\nEnglish recall@1 / recall@5 by weight (all questions):")
    lines.append("| weight | dictionary | own words |\n|---|---|---|")
    for w in report["grid"]:
        cells = [f"{g['recall_at_1']:.3f} / {g['recall_at_5']:.3f}" for g in (d["grid"][str(w)], o["grid"][str(w)])]
        lines.append(f"| {w} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
