"""The answer-quality benchmark behind ``python -m rag eval``.

Indexes the articles into a temporary index, asks every question through ``Bot.ask`` and
through the peers, scores all of them with ``rag.evaluate``, prints the tables and returns
the report that is written as JSON.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.training.evaluate import (
    GoldReport,
    XQuADItem,
    XQuADReport,
    load_gold,
    load_xquad,
    score_gold,
    score_xquad,
)
from rag.training.report import LANGS, tables
from rag.types import Answer

log = logging.getLogger(__name__)

# The data lives in the project folder (a checkout), not in the installed package.
ROOT = Path(__file__).resolve().parents[2]
XQUAD_DIR = ROOT / "bench" / "data" / "xquad-dev"
NEWS_DIR = ROOT / "bench" / "data" / "news"
SEED_ARTICLE = ROOT / "seeds" / "000_094a88c166a7f8c4.txt"
SEED_GOLD = ROOT / "tests" / "data" / "seed_gold.jsonl"
DEFAULT_OUT = Path("bench/results/quality.json")

PEERS = ("bm25", "langchain")
# Passages requested per question, for MRR@10. The answer reads only the top passages, and the
# first ``settings.retrieve.k`` are what a user is shown: recall@5 and passage length use those.
DEPTH = 10

Ask = Callable[[str], Answer]


def select(
    items: Sequence[XQuADItem], articles: int | None = None, limit: int | None = None
) -> tuple[list[XQuADItem], list[str]]:
    """The questions to ask and the article files to index (relative to the data folder).

    ``articles`` keeps the first N article files; ``limit`` keeps N questions per language,
    evenly spaced so that every part of the set is represented.
    """
    names = sorted({it.article for it in items})
    if articles is not None:
        names = names[:articles]
    kept = [it for it in items if it.article in names]
    ids = list(dict.fromkeys(it.id for it in kept))
    if limit is not None and limit < len(ids):
        ids = [ids[i * len(ids) // limit] for i in range(limit)]
    chosen = set(ids)
    return [it for it in kept if it.id in chosen], names


def evaluate_xquad(
    settings: Settings,
    encoders: Sequence[Any],
    items: Sequence[XQuADItem],
    names: Sequence[str],
    workdir: Path,
    peers: Sequence[str] = PEERS,
    root: Path = XQUAD_DIR,
) -> dict[str, Any]:
    """Scores of the bot and the peers on ``items``, with ``names`` (article files) indexed."""
    from rag.pipeline import Bot
    from rag.training.peers import BM25Peer, LangChainPeer, read_articles

    paths = [root / n for n in names]
    systems: dict[str, tuple[Ask, float]] = {}
    t0 = time.monotonic()
    bot = Bot(
        settings.model_copy(update={"index_dir": workdir / "ours-xquad"}),
        encoders=encoders,
    )
    _note(f"indexing {len(paths)} articles")
    bot.index(paths)
    systems["ours"] = (lambda q: bot.ask(q, k=DEPTH), time.monotonic() - t0)
    if "bm25" in peers:
        t0 = time.monotonic()
        bm25 = BM25Peer(read_articles(paths))
        systems["bm25"] = (lambda q: bm25.ask(q, k=DEPTH), time.monotonic() - t0)
    if "langchain" in peers:
        t0 = time.monotonic()
        _note("indexing for the LangChain default")
        shutil.rmtree(workdir / "langchain-xquad", ignore_errors=True)  # a kept workdir: start the peer afresh
        lc = LangChainPeer(read_articles(paths), workdir / "langchain-xquad")
        systems["langchain"] = (lambda q: lc.ask(q, k=DEPTH), time.monotonic() - t0)

    out: dict[str, Any] = {
        "articles": len(paths),
        "questions_per_language": len({it.id for it in items}),
        "depth": DEPTH,
        "shown": settings.retrieve.k,
        "systems": {},
    }
    for name, (ask, index_seconds) in systems.items():
        answers, seconds = _ask_all(f"xquad {name}", ask, [it.question for it in items])
        report = score_xquad(items, answers, root, shown=settings.retrieve.k)
        out["systems"][name] = {
            **{lang: report.rates(lang) for lang in LANGS},
            "failures": {lang: report.failures(lang) for lang in LANGS},
            "seconds": {"index": round(index_seconds, 1), "ask": round(seconds, 1)},
        }
        if name == "ours":
            out["ours_questions"] = _xquad_details(report)
    return out


def evaluate_seed(
    settings: Settings,
    encoders: Sequence[Any],
    workdir: Path,
    peers: Sequence[str] = PEERS,
) -> dict[str, Any]:
    """Scores of the bot and the peers on the gold questions over the seed article."""
    from rag.pipeline import Bot
    from rag.training.peers import BM25Peer, LangChainPeer, read_articles

    items = load_gold(SEED_GOLD)
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    bot = Bot(
        settings.model_copy(update={"index_dir": workdir / "ours-seed"}),
        encoders=encoders,
    )
    bot.index([SEED_ARTICLE])
    systems: dict[str, Ask] = {"ours": lambda q: bot.ask(q)}
    if "bm25" in peers:
        systems["bm25"] = BM25Peer(read_articles([SEED_ARTICLE])).ask
    if "langchain" in peers:
        shutil.rmtree(workdir / "langchain-seed", ignore_errors=True)
        systems["langchain"] = LangChainPeer(read_articles([SEED_ARTICLE]), workdir / "langchain-seed").ask
    out: dict[str, Any] = {"questions": len(items), "systems": {}}
    for name, ask in systems.items():
        answers, seconds = _ask_all(f"seed {name}", ask, [it.question for it in items])
        report = score_gold(items, answers, text)
        out["systems"][name] = {
            **{lang: report.rates(lang) for lang in LANGS},
            "all": report.rates(),
            "seconds": {"ask": round(seconds, 1)},
        }
        if name == "ours":
            out["ours_misses"] = _seed_misses(report)
    return out


def evaluate_heldout(
    settings: Settings, encoders: Sequence[Any], items: Sequence[XQuADItem], workdir: Path
) -> dict[str, Any]:
    """The answer models fitted fold by fold (rag.training.train) and scored on the articles they did not
    see, beside the hand-set rules and the in-sample figures; with unanswerable questions made by
    asking each fold's questions of an index that lacks its articles."""
    from rag.training.folds import Bench
    from rag.training.train import fit_all, heldout_report

    names = [getattr(e, "name", type(e).__name__) for e in encoders]
    bench = Bench(settings, encoders, items, XQUAD_DIR, workdir)
    return heldout_report(bench, fit_all([bench], names))


def run(
    settings: Settings,
    encoders: Sequence[Any] | None = None,
    data: str = "all",
    limit: int | None = None,
    articles: int | None = None,
    peers: Sequence[str] = PEERS,
    command: str = "",
    workdir: Path | None = None,
    heldout: bool = True,
) -> dict[str, Any]:
    """The whole benchmark; models are loaded once (or passed in) and shared by every index."""
    from rag.pipeline import make_encoders

    started = time.monotonic()
    encoders = list(encoders) if encoders is not None else make_encoders(settings)
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command,
        "revision": _revision(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "arch": platform.machine(),
        },
        # the proxy settings may carry credentials and do not change any figure
        "settings": settings.model_dump(
            mode="json", exclude={"index_dir", "seeds_dir", "https_proxy", "http_proxy", "no_proxy"}
        ),
    }
    with contextlib.ExitStack() as stack:
        if workdir is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rag-eval-", ignore_cleanup_errors=True)))
        else:
            # Kept: the next run updates these indexes in place (unchanged articles are not embedded
            # again; other chunking or models rebuild them), so trying answer settings is quick.
            tmp = workdir
            tmp.mkdir(parents=True, exist_ok=True)
        if data in ("xquad", "all"):
            items, names = select(load_xquad(XQUAD_DIR, LANGS), articles, limit)
            report["xquad"] = evaluate_xquad(settings, encoders, items, names, tmp, peers)
            if heldout:
                report["heldout"] = evaluate_heldout(settings, encoders, items, tmp)
        if data in ("seed", "all"):
            report["seed"] = evaluate_seed(settings, encoders, tmp, peers)
    report["seconds"] = round(time.monotonic() - started, 1)
    return report


def main(
    settings: Settings,
    data: str = "all",
    limit: int | None = None,
    articles: int | None = None,
    peers: bool = True,
    out: Path = DEFAULT_OUT,
    command: str = "",
    workdir: Path | None = None,
    heldout: bool = True,
) -> int:
    # OpenMP's default busy-waiting makes the e5 engine ~10x slower when other processes share
    # the cores; passive waiting changes timing only (the vectors are bit-identical).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    report = run(settings, None, data, limit, articles, PEERS if peers else (), command, workdir, heldout)
    print(tables(report))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    _note(f"wrote {out} ({report['seconds']:.0f} s)")
    return 0


# -- details for the error analysis ------------------------------------------------------------


def _xquad_details(report: XQuADReport) -> list[dict[str, Any]]:
    out = []
    for r in report.results:
        row: dict[str, Any] = {
            "id": r.item.id,
            "lang": r.item.lang,
            "rank": r.rank,
            "kind": r.kind(report.shown),
            "whole_quote": r.whole_quote,
        }
        if row["kind"] != "ok":
            top = r.answer.passages[0] if r.answer.passages else None
            row |= {
                "question": r.item.question,
                "gold": r.item.answer,
                "article": r.item.article,
                "gold_span": [r.item.start, r.item.end],
                "short_answer": r.answer.short_answer,
                "citation": r.answer.citations[0].quote if r.answer.citations else None,
                "top_passage": [Path(top.source).name, top.start, top.end] if top else None,
            }
        out.append(row)
    return out


def _seed_misses(report: GoldReport) -> list[dict[str, Any]]:
    out = []
    for r in report.results:
        wrong = r.item.answerable and not (r.short_ok and r.cited_ok)
        wrong |= not r.item.answerable and not r.answer.abstained
        if wrong:
            out.append(
                {
                    "id": r.item.id,
                    "question": r.item.question,
                    "answerable": r.item.answerable,
                    "answers": r.item.answers,
                    "abstained": r.answer.abstained,
                    "short_answer": r.answer.short_answer,
                    "short_ok": r.short_ok,
                    "cited_ok": r.cited_ok,
                }
            )
    return out


def _ask_all(label: str, ask: Ask, questions: Sequence[str]) -> tuple[list[Answer], float]:
    from tqdm import tqdm

    t0 = time.monotonic()
    bar = tqdm(
        questions,
        desc=label,
        unit="q",
        file=sys.stderr,
        leave=False,
        mininterval=0.5 if sys.stderr.isatty() else 30,
    )
    answers = [ask(q) for q in bar]
    seconds = time.monotonic() - t0
    _note(f"{label}: {len(questions)} questions in {seconds:.1f} s")
    return answers, seconds


def _revision() -> str | None:
    """The commit measured; '-dirty' when the working tree had changes."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def _note(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
