"""The tables ``python -m rag eval`` and ``python -m rag train`` print from a report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag.training.evaluate import FAILURE_KINDS

LANGS = ("en", "de")

_XQUAD_COLUMNS = [
    ("recall@1", "recall_at_1", ".3f"),
    ("recall@5", "recall_at_5", ".3f"),
    ("MRR@10", "mrr_at_10", ".3f"),
    ("top passage chars", "mean_top_passage_chars", ".0f"),
    ("passage chars", "mean_passage_chars", ".0f"),
    ("short-answer acc.", "short_answer_accuracy", ".3f"),
    ("loose acc.", "short_answer_accuracy_loose", ".3f"),
    ("short-answer chars", "mean_short_answer_chars", ".0f"),
    ("abstain (answerable)", "abstain_on_answerable", ".3f"),
]
_HELDOUT_COLUMNS = [
    ("recall@1", "recall_at_1", ".3f"),
    ("recall@5", "recall_at_5", ".3f"),
    ("short-answer acc.", "short_answer_accuracy", ".3f"),
    ("abstain (answerable)", "abstain_on_answerable", ".3f"),
    ("abstain (other articles)", "abstain_on_unanswerable", ".3f"),
    ("abstain (other paragraphs)", "abstain_on_other_paragraph", ".3f"),
]
_NEWS_COLUMNS = [
    ("short-answer acc.", "short_answer_accuracy", ".3f"),
    ("abstain (answerable)", "abstain_on_answerable", ".3f"),
    ("abstain (other articles)", "abstain_on_unanswerable", ".3f"),
    ("abstain (on-topic)", "abstain_on_on_topic", ".3f"),
]
_SEED_COLUMNS = [
    ("short-answer acc.", "short_answer_accuracy", ".3f"),
    ("citation acc.", "citation_accuracy", ".3f"),
    ("abstain (unanswerable)", "abstain_on_unanswerable", ".3f"),
    ("abstain (answerable)", "abstain_on_answerable", ".3f"),
    ("short-answer chars", "mean_short_answer_chars", ".0f"),
]


def tables(report: dict[str, Any]) -> str:
    """Markdown tables of a report: one row per system and question language."""
    parts = []
    if "xquad" in report:
        x = report["xquad"]
        parts.append(
            f"XQuAD-dev: {x['questions_per_language']} questions per language over "
            f"{x['articles']} articles; passage chars = mean of the {x['shown']} passages shown;"
            " loose acc. ignores articles and punctuation"
        )
        parts.append(_table(x["systems"], LANGS, _XQUAD_COLUMNS))
        if "ours" in x["systems"]:
            for lang in LANGS:
                fails = x["systems"]["ours"]["failures"][lang]
                top = f" ({fails['wrong_sentence_gold_at_rank_1']} with the gold in the top passage)"
                kinds = ", ".join(f"{k} {fails[k]}{top if k == 'wrong_sentence' else ''}" for k in FAILURE_KINDS)
                whole = x["systems"]["ours"][lang]["short_answer_is_whole_quote"]
                parts.append(f"ours {lang}, short-answer misses: {kinds}")
                parts.append(f"ours {lang}, short answer is a whole quoted sentence in {whole:.1%} of answers")
    if "heldout" in report:
        h = report["heldout"]
        parts.append(
            f"\nAnswer models, {h['folds']} folds split by article: each fold answered by models fitted on the "
            "others; unanswerable = a fold's questions asked of an index without its articles"
        )
        runs = {k: v for k, v in h.items() if isinstance(v, dict) and k != "news (held-out)"}
        parts.append(_table(runs, LANGS, _HELDOUT_COLUMNS))
        if "news (held-out)" in h:
            parts.append(
                "\nNews training questions, same folds: answerable ones against all 200 articles and against an"
                " index without their fold's articles; on-topic = questions the articles leave open"
            )
            parts.append(_table({"learned (held-out)": h["news (held-out)"]}, LANGS, _NEWS_COLUMNS))
    if "seed" in report:
        s = report["seed"]
        parts.append(f"\nSeed gold set: {s['questions']} questions over the seed article")
        parts.append(_table(s["systems"], (*LANGS, "all"), _SEED_COLUMNS))
    parts.append(f"\n{report['seconds']:.0f} s in all")
    return "\n".join(parts)


def _table(systems: dict[str, Any], langs: Sequence[str], columns: list[tuple[str, str, str]]) -> str:
    head = ["system", "questions", *(c[0] for c in columns)]
    rows = [
        [f"{name} {lang}", str(m[lang]["questions"])] + [format(m[lang][key], f) for _, key, f in columns]
        for lang in langs
        for name, m in systems.items()
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
