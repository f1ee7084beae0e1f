"""The trained answer models, stored as plain numbers in JSON and applied with numpy.

Two linear models: one scores each candidate evidence sentence (the best one is quoted first), one
gives the probability that the chosen evidence answers the question (below ``threshold`` the bot
says the articles don't say). ``python -m rag train`` writes the file; nothing here imports a
training library.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.answering import features
from rag.errors import RagError

log = logging.getLogger(__name__)

DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "answer.json"


@dataclass(frozen=True)
class Linear:
    """``(x - mean) / scale @ weights + bias``: scale and mean from the training data."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((np.atleast_2d(x) - self.mean) / self.scale) @ self.weights + self.bias

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.names),
            "mean": [round(float(v), 8) for v in self.mean],
            "scale": [round(float(v), 8) for v in self.scale],
            "weights": [round(float(v), 8) for v in self.weights],
            "bias": round(float(self.bias), 8),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Linear:
        arr = {k: np.asarray(d[k], dtype=np.float64) for k in ("mean", "scale", "weights")}
        return cls(tuple(d["features"]), arr["mean"], arr["scale"], arr["weights"], float(d["bias"]))


@dataclass(frozen=True)
class AnswerModel:
    sentence: Linear
    answerable: Linear
    threshold: float  # least answerable probability for an answer
    encoders: tuple[str, ...]  # the encoders whose similarities the features hold
    info: dict[str, Any] = field(default_factory=dict)  # what it was trained on, held-out figures

    def sentence_scores(self, rows: np.ndarray) -> np.ndarray:
        return self.sentence(rows)

    def answerable_probability(self, vector: np.ndarray) -> float:
        return float(1.0 / (1.0 + np.exp(-self.answerable(vector)[0])))

    def fits(self, encoder_names: list[str]) -> bool:
        return list(self.encoders) == list(encoder_names)

    def to_json(self) -> dict[str, Any]:
        return {
            "feature_version": features.VERSION,
            "encoders": list(self.encoders),
            "threshold": round(self.threshold, 6),
            "sentence": self.sentence.to_json(),
            "answerable": self.answerable.to_json(),
            "info": self.info,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AnswerModel:
        return cls(
            Linear.from_json(d["sentence"]),
            Linear.from_json(d["answerable"]),
            float(d["threshold"]),
            tuple(d["encoders"]),
            d.get("info", {}),
        )


def load(path: Path | None) -> AnswerModel | None:
    """The model at ``path`` (the bundled one when None); None when it is for another feature
    version. A damaged file is an error that says how to restore it."""
    if path is None and not DEFAULT_MODEL.exists():
        log.warning("no answer model in %s: hand-set rules answer; train one: python -m rag train", DEFAULT_MODEL)
        return None
    path = path or DEFAULT_MODEL
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        if d.get("feature_version") != features.VERSION:
            log.warning("%s was trained on other features; retrain with: python -m rag train", path)
            return None
        model = AnswerModel.from_json(d)
        if model.sentence.names != features.SENTENCE or model.answerable.names != features.ANSWERABLE:
            log.warning("%s lists other features; retrain with: python -m rag train", path)
            return None
        return model
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RagError(
            f"Cannot read the answer model {path} ({exc}); restore it with git or retrain with: python -m rag train"
        ) from exc
