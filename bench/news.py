"""The bot on 200 real German news articles: questions written over them, asked through ``Bot.ask``.

    .venv/bin/python -m bench.news                              # a temporary index (indexing: minutes)
    .venv/bin/python -m bench.news --workdir bench/cache/news  # keep the index; the next run reuses it

All 200 articles of ``bench/data/news`` are indexed together, as a user would. Each question kind
that has a scorer (``SCORERS``) is asked and scored per question, then averaged per language:

- ``fact``: the short answer is right when it contains the gold ``answer`` (whitespace and case
  normalised, ``rag.training.evaluate.contains_any``), and loosely right when it does so without
  punctuation and articles too ("28" for "28.", as XQuAD's loose accuracy); exact when the two are
  equal that way; the right passage is quoted when a citation from the question's article overlaps
  the gold ``evidence`` sentence; token F1 is SQuAD's, over ``rag.training.evaluate.loose`` tokens (0
  for a decline); and how often the bot declined.
- ``unanswerable``: how often the bot declined.
- ``overview``: the first citation is from the article meant and starts in its first two sentences
  (its lead).
- ``collection``: precision and recall of the listed articles against an exact scan for the name.
- ``metadata``: answered from the right article's metadata (a citation of a metadata line); where
  the article ends with a signature such as "(APA, 8.8.2015)", whether the date or author it gives is
  the one said.

A kind without a scorer in ``SCORERS`` is counted as not supported yet.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.articles.chunking import sentences
from rag.articles.metadata import parse_date
from rag.config import Settings
from rag.training.evaluate import contains_any, evidence_spans, loose, loose_contains, token_f1
from rag.training.report import LANGS, _table
from rag.types import Answer

if TYPE_CHECKING:
    from rag.pipeline import Bot

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "news"
DEFAULT_OUT = Path("bench/results/news.json")
NOT_SUPPORTED = "not supported yet"


@dataclass(frozen=True)
class Corpus:
    """The data folder: ``articles/`` and ``questions.jsonl``."""

    folder: Path

    @property
    def articles_dir(self) -> Path:
        return self.folder / "articles"

    @cached_property
    def texts(self) -> dict[str, str]:
        """Article text by file name, as the index reads it (UTF-8, unchanged)."""
        return {p.name: p.read_text(encoding="utf-8") for p in sorted(self.articles_dir.glob("*.txt"))}

    def questions(self) -> list[dict[str, Any]]:
        lines = (self.folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


# -- scorers: one per question kind, each returning the figures of one answered question ---------

Scorer = Callable[[dict[str, Any], Answer, Corpus], dict[str, float | bool | None]]


def quotes_evidence(item: dict[str, Any], answer: Answer, corpus: Corpus) -> bool:
    """A citation from the question's article overlaps the gold evidence sentence."""
    spans = evidence_spans(corpus.texts[item["article"]], [item["evidence"]])
    return any(
        Path(c.source).name == item["article"] and c.start < end and start < c.end
        for c in answer.citations
        for start, end in spans
    )


def score_fact(item: dict[str, Any], answer: Answer, corpus: Corpus) -> dict[str, float | bool | None]:
    answered = not answer.abstained
    return {
        "short_answer_right": answered and contains_any(answer.short_answer, [item["answer"]]),
        "loosely_right": answered and loose_contains(answer.short_answer, item["answer"]),
        "exact": answered and loose(answer.short_answer or "") == loose(item["answer"]),
        "passage_quoted": answered and quotes_evidence(item, answer, corpus),
        "declined": answer.abstained,
        "token_f1": token_f1(answer.short_answer, item["answer"]) if answered else 0.0,
        "short_answer_chars": len(answer.short_answer or "") if answered else None,  # mean over answers given
    }


# What went wrong with a fact answer whose short answer does not hold the gold, in the order checked.
MISSES = ("declined", "wrong span of the right passage", "another sentence of the right article", "another article")


def miss_of(item: dict[str, Any], answer: Answer, scores: Mapping[str, Any]) -> str | None:
    """The kind of miss of a fact answer (one of ``MISSES``) from its ``score_fact`` scores, None when
    its short answer is right."""
    if scores["short_answer_right"]:
        return None
    if scores["declined"]:
        return MISSES[0]
    if scores["passage_quoted"]:
        return MISSES[1]
    if answer.citations and Path(answer.citations[0].source).name == item["article"]:
        return MISSES[2]
    return MISSES[3]


def misses_table(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per language, how many fact answers missed in each way."""
    return {
        lang: {m: sum(r["kind"] == "fact" and r["lang"] == lang and r["miss"] == m for r in rows) for m in MISSES}
        for lang in LANGS
    }


def score_unanswerable(item: dict[str, Any], answer: Answer, corpus: Corpus) -> dict[str, float | bool | None]:
    return {"declined": answer.abstained}


def score_overview(item: dict[str, Any], answer: Answer, corpus: Corpus) -> dict[str, float | bool | None]:
    """The right article's lead quoted: the first citation is from that article and starts in its
    first two sentences (a text may open with a heading or a teaser)."""
    first = answer.citations[0] if answer.citations else None
    right = first is not None and Path(first.source).name == item["article"]
    opening = sentences(corpus.texts[item["article"]])[:2]
    return {
        "kind_right": answer.kind == "overview",
        "right_article": right,
        "lead_quoted": right and bool(opening) and first.start < opening[-1].end,  # type: ignore[union-attr]
    }


def score_collection(item: dict[str, Any], answer: Answer, corpus: Corpus) -> dict[str, float | bool | None]:
    """Precision and recall of the listed articles against the exact scan of the gold set."""
    listed = {Path(c.source).name for c in answer.citations} if answer.kind == "collection" else set()
    gold = set(item["articles"])
    hits = len(listed & gold)
    return {
        "kind_right": answer.kind == "collection",
        "precision": hits / len(listed) if listed else 0.0,
        "recall": hits / len(gold),
        "exact_list": listed == gold,
    }


def score_metadata(item: dict[str, Any], answer: Answer, corpus: Corpus) -> dict[str, float | bool | None]:
    """Answered from the right article's metadata, cited to a metadata line; where the article ends
    with a signature, the date (or author) it gives is the one said."""
    first = answer.citations[0] if answer.citations else None
    right = first is not None and Path(first.source).name == item["article"] and first.meta_field is not None
    signed = None
    if item.get("signature"):
        said = answer.answer
        if item["field"] == "date":
            day = re.search(r"(\d{1,2}\.\d{1,2}\.\d{4})", item["signature"])
            signed = bool(day) and parse_date(day.group(1)) in said  # type: ignore[union-attr]
        elif item["field"] == "author":
            signed = item["signature"].strip("()").split(",")[0].split(";")[0].strip() in said
    return {"kind_right": answer.kind == "metadata", "from_metadata": right, "signature_said": signed}


SCORERS: dict[str, Scorer] = {
    "fact": score_fact,
    "unanswerable": score_unanswerable,
    "overview": score_overview,
    "collection": score_collection,
    "metadata": score_metadata,
}

# The table printed per language: (heading, kind, figure, format).
COLUMNS = [
    ("short answer right", "fact", "short_answer_right", ".3f"),
    ("loosely right", "fact", "loosely_right", ".3f"),
    ("right passage quoted", "fact", "passage_quoted", ".3f"),
    ("declined (answerable)", "fact", "declined", ".3f"),
    ("declined (unanswerable)", "unanswerable", "declined", ".3f"),
    ("short-answer chars", "fact", "short_answer_chars", ".0f"),
    ("token F1", "fact", "token_f1", ".3f"),
    ("exact", "fact", "exact", ".3f"),
    ("overview: right lead", "overview", "lead_quoted", ".3f"),
    ("collection: precision", "collection", "precision", ".3f"),
    ("collection: recall", "collection", "recall", ".3f"),
    ("metadata: from metadata", "metadata", "from_metadata", ".3f"),
    ("metadata: signature said", "metadata", "signature_said", ".3f"),
]


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per kind and language (and both together): question count and the mean of every figure
    (a figure that is None for a question, e.g. the length of a declined answer, is left out)."""
    out: dict[str, Any] = {}
    for kind in dict.fromkeys(r["kind"] for r in rows):
        out[kind] = {}
        for lang in (*LANGS, "all"):
            mine = [r for r in rows if r["kind"] == kind and lang in (r["lang"], "all")]
            figures: dict[str, Any] = {"questions": len(mine)}
            for key in dict.fromkeys(k for r in mine for k in r["scores"]):
                values = [float(r["scores"][key]) for r in mine if r["scores"].get(key) is not None]
                figures[key] = round(statistics.fmean(values), 4) if values else 0.0
            out[kind][lang] = figures
    return out


def table(kinds: dict[str, Any], counts: dict[str, dict[str, int]], articles: int) -> str:
    """The per-language table of the scored kinds, and the counts of the kinds not scored yet."""
    shown = [(head, kind, key, fmt) for head, kind, key, fmt in COLUMNS if kind in kinds]
    rows = {
        lang: {"questions": " + ".join(str(kinds[k][lang]["questions"]) for k in kinds)}
        | {f"{kind}.{key}": kinds[kind][lang].get(key, 0.0) for _, kind, key, _ in shown}
        for lang in (*LANGS, "all")
    }
    columns = [(head, f"{kind}.{key}", fmt) for head, kind, key, fmt in shown]
    parts = [
        "News: " + " + ".join(f"{k} questions" for k in kinds) + f" over {articles} indexed articles",
        _table({"ours": rows}, (*LANGS, "all"), columns),
    ]
    for kind, n in counts.items():
        if kind not in kinds:
            by_lang = ", ".join(f"{lang} {c}" for lang, c in n.items())
            parts.append(f"{kind}: {sum(n.values())} questions ({by_lang}), {NOT_SUPPORTED}")
    return "\n".join(parts)


# -- the run -------------------------------------------------------------------------------------


def index(bot: Bot, corpus: Corpus) -> dict[str, Any]:
    """Index the articles; a workdir that already holds them is only checked (nothing is embedded again)."""
    t0 = time.monotonic()
    report = bot.index([corpus.articles_dir])
    return {
        "articles": len(corpus.texts),
        "added": len(report.added) + len(report.replaced),
        "unchanged": len(report.unchanged),
        "chunks": report.chunks_total,
        "seconds": round(time.monotonic() - t0, 1),
    }


def run(settings: Settings, corpus: Corpus, workdir: Path, encoders: Sequence[Any] | None = None) -> dict[str, Any]:
    """Index, ask every question of a scored kind, score; the report written as JSON."""
    from rag.pipeline import Bot
    from rag.training.quality import _ask_all, _revision

    started = time.monotonic()
    items = corpus.questions()
    counts: dict[str, dict[str, int]] = {}
    for it in items:
        counts.setdefault(it["kind"], dict.fromkeys(LANGS, 0))[it["lang"]] += 1
    bot = Bot(settings.model_copy(update={"index_dir": workdir / "index"}), encoders=encoders)
    _note(f"indexing {len(corpus.texts)} articles into {workdir / 'index'}")
    indexed = index(bot, corpus)
    _note(
        f"indexed: {indexed['added']} embedded, {indexed['unchanged']} already held, "
        f"{indexed['chunks']} chunks, {indexed['seconds']:.0f} s"
    )
    asked = [it for it in items if it["kind"] in SCORERS]
    answers, seconds = _ask_all("news", bot.ask, [it["question"] for it in asked])
    rows = []
    for item, answer in zip(asked, answers, strict=True):
        rows.append(
            {
                "id": item["id"],
                "lang": item["lang"],
                "kind": item["kind"],
                "scores": (scores := SCORERS[item["kind"]](item, answer, corpus)),
                "miss": miss_of(item, answer, scores) if item["kind"] == "fact" else None,
                "question": item["question"],
                "gold": item.get("answer"),
                "abstained": answer.abstained,
                "short_answer": answer.short_answer,
                "citations": [[Path(c.source).name, c.start, c.end] for c in answer.citations],
            }
        )
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "",
        "revision": _revision(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "arch": platform.machine()},
        "settings": settings.model_dump(mode="json", exclude={"index_dir", "seeds_dir"}),
        "questions": counts,
        "index": indexed,
        "kinds": summarise(rows) | {k: {"status": NOT_SUPPORTED, **n} for k, n in counts.items() if k not in SCORERS},
        "misses": misses_table(rows),
        "seconds": {"ask": round(seconds, 1), "all": round(time.monotonic() - started, 1)},
        "answers": rows,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.news", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DATA, help="folder of articles/ and questions.jsonl")
    p.add_argument("--workdir", type=Path, help="keep the index here and reuse it (default: a temporary folder)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON report")
    args = p.parse_args(argv)
    # As in `rag eval`: OpenMP's busy-waiting slows the embedding engine when the cores are shared.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    corpus = Corpus(args.data)
    with contextlib.ExitStack() as stack:
        if args.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="news-bench-")))
        else:
            workdir = args.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        report = run(Settings(), corpus, workdir)
    report["command"] = " ".join(["python -m bench.news", *(argv if argv is not None else sys.argv[1:])])
    scored = {k: v for k, v in report["kinds"].items() if k in SCORERS}
    print(table(scored, report["questions"], report["index"]["articles"]))
    for lang, counts in report["misses"].items():
        print(f"fact misses, {lang}: " + ", ".join(f"{m} {n}" for m, n in counts.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    _note(f"wrote {args.out} ({report['seconds']['all']:.0f} s)")
    return 0


def _note(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
