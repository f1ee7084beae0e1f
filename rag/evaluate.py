"""Scoring through the same interface users get: gold questions over the seed article, and XQuAD."""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
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
