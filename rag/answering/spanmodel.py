"""The learned short-answer choice: features of each candidate span of the evidence sentence (one
function, shared by training and answering) and a linear scorer stored as JSON, applied with numpy.

``python -m rag train-spans`` writes ``models/spans.json``; nothing here imports a training library.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.answering import spans
from rag.answering.learned import Linear
from rag.language.lexical import tokens
from rag.types import Question

log = logging.getLogger(__name__)

VERSION = 2
DEFAULT_SPAN_MODEL = Path(__file__).resolve().parent / "models" / "spans.json"
QTYPES = ("count", "when", "role", "who", "where", "other")
KINDS = ("name", "number", "date", "np", "np-attach", "pp", "typed")
_PAIRED = ("name", "number", "date", "np", "typed")

FEATURES = (
    *(f"kind_{k}" for k in KINDS),
    *(f"{q}_x_{k}" for q in QTYPES for k in _PAIRED),  # the candidate's kind against the asked type
    "is_today",  # the span today's typed rules choose
    "overlaps_today",
    "q_share",  # share of the candidate's words the question holds (a repeat is rarely the answer)
    "q_any",
    "q_all",
    "anchor_log_dist",  # tokens to the nearest question word found in the sentence (outside the span)
    "no_anchor",
    "anchor_left",  # a question word right before it ('Verteidigungsminister' -> 'Schoigu')
    "anchor_right",
    "log_tokens",
    *(f"len_{n}" for n in (1, 2, 3, 4)),
    "len_5plus",
    "starts_det",
    "starts_prep",
    "has_ne",
    "has_nn",
    "has_card",
    "has_adj",
    "ends_nn",
    "rel_position",
    "sim_z",  # the question's similarity to the candidate with a few words before it, standardised
    "sim",
    # what stands around it: '(Sylvester Groth)', 'um 15.05 Uhr', a clause of its own
    "after_paren",
    "before_paren",
    "after_prep",
    "after_article",
    "after_noun",
    "before_noun",
    "clause_first",
    "clause_last",
)


def _stems(text: str) -> set[str]:
    return set(tokens(text, "de")) | set(tokens(text, "en"))


def asked_stems(question: Question) -> set[str]:
    """The stems a sentence may repeat the question by: its own, and for an English question over
    German articles the dictionary's German renderings (the stem 'troop' -> 'trupp')."""
    asked = set(question.words)
    if question.lang == "en":
        for found in question.alternatives.values():
            asked |= found
    return asked


def rows(
    question: Question,
    toks: list[spans.Token],
    cands: list[spans.Candidate],
    today: tuple[int, int] | None,
    sims: np.ndarray | None = None,
) -> np.ndarray:
    """One row of ``FEATURES`` per candidate; ``today`` is the (start, end) of today's typed choice,
    ``sims`` the question's similarity to each candidate with its left context (zeros when None)."""
    qtype = question.asks
    asked = asked_stems(question)
    word_stems = [_stems(t.text) for t in toks]
    anchors = [k for k, s in enumerate(word_stems) if s & asked]
    n = max(1, len(toks))
    sims = np.zeros(len(cands)) if sims is None else np.asarray(sims, dtype=np.float64)
    sim_z = (sims - sims.mean()) / sims.std() if len(sims) > 1 and sims.std() > 1e-9 else np.zeros(len(cands))
    out = np.zeros((len(cands), len(FEATURES)))
    at = {name: i for i, name in enumerate(FEATURES)}
    for r, c in enumerate(cands):
        f = out[r]
        for k in c.kinds:
            f[at[f"kind_{k}"]] = 1.0
            if k in _PAIRED:
                f[at[f"{qtype}_x_{k}"]] = 1.0
        if today is not None:
            f[at["is_today"]] = float((c.start, c.end) == today)
            f[at["overlaps_today"]] = float(c.start < today[1] and today[0] < c.end)
        inner = [word_stems[k] for k in range(c.first, c.last + 1) if word_stems[k]]
        hits = [bool(s & asked) for s in inner]
        f[at["q_share"]] = sum(hits) / len(hits) if hits else 0.0
        f[at["q_any"]] = float(any(hits))
        f[at["q_all"]] = float(bool(hits) and all(hits))
        outside = [a for a in anchors if a < c.first or a > c.last]
        if outside:
            dist = min(c.first - a if a < c.first else a - c.last for a in outside)
            f[at["anchor_log_dist"]] = math.log1p(dist)
            f[at["anchor_left"]] = float(c.first - 1 in outside)
            f[at["anchor_right"]] = float(c.last + 1 in outside)
        else:
            f[at["no_anchor"]] = 1.0
        length = c.last - c.first + 1
        f[at["log_tokens"]] = math.log(length)
        f[at[f"len_{length}" if length < 5 else "len_5plus"]] = 1.0
        tags = [toks[k].tag for k in range(c.first, c.last + 1)]
        f[at["starts_det"]] = float(tags[0] in ("ART", "DET"))
        f[at["starts_prep"]] = float(tags[0] == "APPR")
        f[at["has_ne"]] = float("NE" in tags)
        f[at["has_nn"]] = float("NN" in tags)
        f[at["has_card"]] = float("CARD" in tags)
        f[at["has_adj"]] = float("ADJ" in tags)
        f[at["ends_nn"]] = float(tags[-1] in ("NN", "NE"))
        f[at["rel_position"]] = c.first / n
        f[at["sim_z"]] = sim_z[r]
        f[at["sim"]] = sims[r]
        before = toks[c.first - 1] if c.first > 0 else None
        after = toks[c.last + 1] if c.last + 1 < len(toks) else None
        f[at["after_paren"]] = float(before is not None and before.text == "(")
        f[at["before_paren"]] = float(after is not None and after.text == ")")
        f[at["after_prep"]] = float(before is not None and before.tag == "APPR")
        f[at["after_article"]] = float(before is not None and before.tag == "ART")
        f[at["after_noun"]] = float(before is not None and before.tag in ("NN", "NE"))
        f[at["before_noun"]] = float(after is not None and after.tag in ("NN", "NE"))
        f[at["clause_first"]] = float(before is None or before.tag == "SEP")
        f[at["clause_last"]] = float(after is None or after.tag == "SEP")
    return out


def context(sentence: str, cand: spans.Candidate, chars: int = 30) -> str:
    """The candidate with a few words before it: 'Streitmacht von etwa 100.000 Soldaten'."""
    return sentence[max(0, cand.start - chars) : cand.end]


@dataclass(frozen=True)
class SpanModel:
    scorer: Linear
    threshold: float  # least softmax probability of the best candidate for it to be the short answer
    info: dict[str, Any] = field(default_factory=dict)

    def scores(self, x: np.ndarray) -> np.ndarray:
        return self.scorer(x)

    def choose(self, x: np.ndarray) -> tuple[int, float] | None:
        """Index of the best candidate and its softmax probability; None below the threshold."""
        if not len(x):
            return None
        s = self.scores(x)
        p = np.exp(s - s.max())
        p /= p.sum()
        best = int(np.argmax(s))
        return (best, float(p[best])) if p[best] >= self.threshold else None

    def to_json(self) -> dict[str, Any]:
        return {"feature_version": VERSION, "threshold": round(self.threshold, 6), "spans": self.scorer.to_json(),
                "info": self.info}  # fmt: skip

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8")


def load(path: Path | None = None) -> SpanModel | None:
    """The span model at ``path`` (the bundled one when None); None, with a warning, when it is
    missing, damaged or for other features."""
    path = path or DEFAULT_SPAN_MODEL
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        model = SpanModel(Linear.from_json(d["spans"]), float(d["threshold"]), d.get("info", {}))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("no usable span model in %s (%s): short answers come from the typed rules", path, exc)
        return None
    if d.get("feature_version") != VERSION or model.scorer.names != FEATURES:
        log.warning("%s was trained on other span features; retrain with: python -m rag train-spans", path)
        return None
    return model
