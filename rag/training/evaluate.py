"""Scoring through the same interface users get: gold questions over the seed article, and XQuAD."""

from __future__ import annotations

import collections
import json
import os
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.types import Answer


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def contains_any(short: str | None, answers: Sequence[str]) -> bool:
    return short is not None and any(norm(a) in norm(short) for a in answers)


@dataclass
class GoldItem:
    id: str
    lang: str
    question: str
    answerable: bool
    kind: str
    answers: list[str]
    evidence: list[str]


def load_gold(path: Path) -> list[GoldItem]:
    return [GoldItem(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evidence_spans(article_text: str, evidence: Sequence[str]) -> list[tuple[int, int]]:
    spans = []
    for ev in evidence:
        start = article_text.find(ev)
        if start < 0:
            raise ValueError(f"evidence not in article: {ev[:60]}")
        spans.append((start, start + len(ev)))
    return spans


@dataclass
class GoldResult:
    item: GoldItem
    answer: Answer
    short_ok: bool = False
    cited_ok: bool = False


@dataclass
class GoldReport:
    results: list[GoldResult] = field(default_factory=list)

    def rates(self, lang: str | None = None) -> dict[str, float]:
        rs = [r for r in self.results if lang is None or r.item.lang == lang]
        ans = [r for r in rs if r.item.answerable]
        una = [r for r in rs if not r.item.answerable]
        answered = [r for r in ans if not r.answer.abstained]
        return {
            "questions": len(rs),
            "short_answer_accuracy": _mean([r.short_ok for r in ans]),
            "citation_accuracy": _mean([r.cited_ok for r in answered]),
            "abstain_on_unanswerable": _mean([r.answer.abstained for r in una]),
            "abstain_on_answerable": _mean([r.answer.abstained for r in ans]),
            "mean_short_answer_chars": _mean([len(r.answer.short_answer or "") for r in answered]),
        }


def score_gold(items: Sequence[GoldItem], answers: Sequence[Answer], article_text: str) -> GoldReport:
    report = GoldReport()
    for item, ans in zip(items, answers, strict=True):
        res = GoldResult(item, ans)
        if item.answerable and not ans.abstained:
            res.short_ok = contains_any(ans.short_answer, item.answers)
            spans = evidence_spans(article_text, item.evidence)
            res.cited_ok = any(c.start < e and s < c.end for c in ans.citations for s, e in spans)
        report.results.append(res)
    return report


def _mean(xs: Sequence[Any]) -> float:
    return round(statistics.fmean(xs), 4) if xs else 0.0


# -- XQuAD-dev: German articles, English and German questions, gold answer offsets -------------

FAILURE_KINDS = ("near_span", "abstained", "retrieval_miss", "wrong_sentence", "wrong_span")
_ARTICLES = re.compile(r"\b(der|die|das|den|dem|des|ein|eine|einen|einem|einer|eines|the|a|an)\b")


def loose(text: str) -> str:
    """``norm`` without punctuation and articles: XQuAD's German gold spans often carry both."""
    return norm(_ARTICLES.sub(" ", re.sub(r"[^\w\s]", " ", text.lower())))


def loose_contains(short: str | None, gold: str) -> bool:
    """``short`` holds the words of ``gold`` in a row, punctuation and articles aside ("28" holds "28.",
    "die Leistenverletzung" holds "Leistenverletzung"; "121" does not hold "21")."""
    wanted = loose(gold)
    return short is not None and bool(wanted) and f" {wanted} " in f" {loose(short)} "


@dataclass(frozen=True)
class XQuADItem:
    """One question in one language; ``article`` is relative to the data folder."""

    id: str
    lang: str
    question: str
    answer: str
    article: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.answer)


def load_xquad(folder: Path, langs: Sequence[str] = ("en", "de")) -> list[XQuADItem]:
    """Every question of ``folder/questions.jsonl`` in each of ``langs``, in file order per language."""
    lines = (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return [
        XQuADItem(r["id"], lang, r[f"question_{lang}"], r["answer_de"], r["article"], r["answer_start"])
        for lang in langs
        for r in rows
    ]


def token_f1(prediction: str | None, gold: str) -> float:
    """SQuAD's token F1 between a short answer and the gold answer, on ``loose`` tokens."""
    pred, ref = loose(prediction or "").split(), loose(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def covers(source: str, start: int, end: int, gold_source: str, gold_start: int, gold_end: int) -> bool:
    """True when ``[start, end)`` of ``source`` holds the whole gold span ``[gold_start, gold_end)``."""
    return same_file(source, gold_source) and start <= gold_start and gold_end <= end


@lru_cache(maxsize=4096)
def same_file(a: str, b: str) -> bool:
    """The same article file: the same path, or the same folder and file name under another root (an
    index kept in a work folder was built from another checkout of the same data)."""
    a, b = os.path.normpath(os.path.abspath(a)), os.path.normpath(os.path.abspath(b))
    return a == b or Path(a).parts[-2:] == Path(b).parts[-2:]


@dataclass
class XQuADResult:
    item: XQuADItem
    answer: Answer
    rank: int | None  # 1-based rank of the first returned passage covering the gold span
    short_ok: bool
    cited_ok: bool  # the first citation covers the gold span
    loose_ok: bool = False  # the short answer holds the gold answer up to articles and punctuation

    @property
    def whole_quote(self) -> bool:
        """The short answer is the whole first quote: no span was picked out of it."""
        cites = self.answer.citations
        return bool(cites) and self.answer.short_answer == cites[0].quote

    def kind(self, shown: int) -> str:
        """'ok' or why the short answer is wrong; a gold span below rank ``shown`` is a retrieval miss."""
        if self.short_ok:
            return "ok"
        if self.loose_ok:
            return "near_span"
        if self.answer.abstained:
            return "abstained"
        if self.rank is None or self.rank > shown:
            return "retrieval_miss"
        return "wrong_span" if self.cited_ok else "wrong_sentence"


@dataclass
class XQuADReport:
    """Scores of one system; ``shown`` is how many passages a user sees (recall@5, passage length)."""

    results: list[XQuADResult] = field(default_factory=list)
    shown: int = 5

    def rates(self, lang: str | None = None) -> dict[str, float]:
        rs = [r for r in self.results if lang is None or r.item.lang == lang]
        answered = [r for r in rs if not r.answer.abstained]
        return {
            "questions": len(rs),
            "recall_at_1": _mean([r.rank == 1 for r in rs]),
            "recall_at_5": _mean([r.rank is not None and r.rank <= 5 for r in rs]),
            "mrr_at_10": _mean([1.0 / r.rank if r.rank is not None and r.rank <= 10 else 0.0 for r in rs]),
            "mean_top_passage_chars": _mean([len(r.answer.passages[0].text) for r in rs if r.answer.passages]),
            "mean_passage_chars": _mean([len(p.text) for r in rs for p in r.answer.passages[: self.shown]]),
            "short_answer_accuracy": _mean([r.short_ok for r in rs]),
            "short_answer_accuracy_loose": _mean([r.short_ok or r.loose_ok for r in rs]),
            "mean_short_answer_chars": _mean([len(r.answer.short_answer or "") for r in answered]),
            "short_answer_is_whole_quote": _mean([r.whole_quote for r in answered]),
            "abstain_on_answerable": _mean([r.answer.abstained for r in rs]),
        }

    def failures(self, lang: str | None = None) -> dict[str, int]:
        """Short-answer misses by kind, and how many wrong sentences came from a top passage
        that held the answer (the answer step's miss, not retrieval's)."""
        rs = [r for r in self.results if lang is None or r.item.lang == lang]
        kinds = [r.kind(self.shown) for r in rs]
        out = {k: kinds.count(k) for k in FAILURE_KINDS}
        out["wrong_sentence_gold_at_rank_1"] = sum(
            k == "wrong_sentence" and r.rank == 1 for r, k in zip(rs, kinds, strict=True)
        )
        return out


def score_xquad(items: Sequence[XQuADItem], answers: Sequence[Answer], root: Path, shown: int = 5) -> XQuADReport:
    """Score answers to ``items``; passage sources are compared with ``root / item.article``."""
    report = XQuADReport(shown=shown)
    for item, ans in zip(items, answers, strict=True):
        gold = str(root / item.article)
        rank = next(
            (i for i, p in enumerate(ans.passages, 1) if covers(p.source, p.start, p.end, gold, item.start, item.end)),
            None,
        )
        short_ok = not ans.abstained and contains_any(ans.short_answer, [item.answer])
        loose_ok = not ans.abstained and loose_contains(ans.short_answer, item.answer)
        first = ans.citations[0] if ans.citations else None
        cited_ok = first is not None and covers(first.source, first.start, first.end, gold, item.start, item.end)
        report.results.append(XQuADResult(item, ans, rank, short_ok, cited_ok, loose_ok))
    return report
