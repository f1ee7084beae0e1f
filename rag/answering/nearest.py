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

    def nearest(
        self, vec: Sequence[float], n: int, row_of: Callable[[str], int | None], scoped: Sequence[int] | None = None
    ) -> dict[int, float]:
        """Chunk row -> cosine of the ``n`` chunks (of the ``scoped`` rows, if given) most like ``vec``;
        ``row_of`` gives a chunk id's row, None for a chunk the manifest does not list (never returned)."""
        if self._rows is None:
            self._rows = np.array([-1 if (r := row_of(i)) is None else r for i in self.ids], dtype=np.int64)
        keep = self._rows >= 0
        if scoped is not None:
            keep &= np.isin(self._rows, scoped)
        if not keep.any():
            return {}
        sims = self.matrix[keep] @ np.asarray(vec, dtype=np.float32)
        rows = self._rows[keep]
        top = np.argsort(-sims, kind="stable")[:n]
        return {int(rows[i]): float(sims[i]) for i in top}


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
