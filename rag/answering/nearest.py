"""The exact search of a small index: every chunk's vectors, read from the vector store once while
the index opens, compared with the question's. Chroma's approximate graph (kept for larger indexes)
returned a different set of close chunks from one start to the next and could miss close ones."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


class HeldVectors:
    """One collection's chunk vectors held in memory."""

    def __init__(self, ids: Sequence[str], matrix: np.ndarray) -> None:
        self.ids = list(ids)
        self.matrix = matrix
        self._rows: np.ndarray | None = None  # the chunk row of each vector, made on the first search
        self._at = np.zeros(0, dtype=np.int64)  # and the vector of each chunk row (-1: none)

    def _rows_of(self, row_of: Callable[[str], int | None]) -> np.ndarray:
        if self._rows is None:
            self._rows = np.array([-1 if (r := row_of(i)) is None else r for i in self.ids], dtype=np.int64)
            self._at = np.full(int(self._rows.max(initial=-1)) + 1, -1, dtype=np.int64)
            placed = self._rows >= 0
            self._at[self._rows[placed]] = np.flatnonzero(placed)
        return self._rows

    def nearest(
        self, vec: Sequence[float], n: int, row_of: Callable[[str], int | None], scoped: Sequence[int] | None = None
    ) -> dict[int, float]:
        """Chunk row -> cosine of the ``n`` chunks (of the ``scoped`` rows, if given) most like ``vec``;
        ``row_of`` gives a chunk id's row, None for a chunk the manifest does not list (never returned)."""
        keep = self._rows_of(row_of) >= 0
        if scoped is not None:
            keep &= np.isin(self._rows, scoped)
        if not keep.any():
            return {}
        sims = self.matrix[keep] @ np.asarray(vec, dtype=np.float32)
        rows = self._rows_of(row_of)[keep]
        top = np.argsort(-sims, kind="stable")[:n]
        return {int(rows[i]): float(sims[i]) for i in top}

    def scores(
        self, vec: Sequence[float], rows: Sequence[int], row_of: Callable[[str], int | None]
    ) -> dict[int, float]:
        """Chunk row -> cosine with ``vec`` for the given ``rows`` (0.0 for a chunk without a vector),
        in double precision as the store's own vectors are compared (``Retriever._exact_scores``)."""
        self._rows_of(row_of)
        q = np.asarray(vec, dtype=np.float64)
        out = {}
        for r in rows:
            i = int(self._at[r]) if r < len(self._at) else -1
            out[r] = float(np.dot(q, self.matrix[i].astype(np.float64))) if i >= 0 else 0.0
        return out


def read_all(client: Any, names: Sequence[str], limit: int) -> list[HeldVectors] | None:
    """Every chunk vector of the collections ``names``, when none holds more than ``limit`` chunks
    (None otherwise, or when they cannot be read: the store's own search is used then, and reports it)."""
    try:
        collections = [client.get_collection(name) for name in names]
        if any(c.count() > limit for c in collections):
            return None
        held = []
        for c in collections:
            got = c.get(include=["embeddings"])
            held.append(HeldVectors(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))
        return held
    except Exception as exc:
        log.debug("could not read the chunk vectors: %s", exc)
        return None
