"""The news check's loose scoring: a short answer that holds the gold's words, punctuation and
articles aside, counts as loosely right; exact means nothing else is said."""

from __future__ import annotations

import pytest

from bench.news import loosely_contains
from rag.training.evaluate import loose


@pytest.mark.parametrize(
    ("short", "gold", "holds"),
    [
        ("28", "28.", True),
        ("die Leistenverletzung", "Leistenverletzung", True),
        ("in der 50. Minute", "50. Minute", True),
        ("121 Stimmen", "21 Stimmen", False),
        ("regelmäßigen Pfeifton", "hohen und regelmäßigen Pfeifton", False),
        (None, "Kolibri", False),
    ],
)
def test_loosely_right_holds_the_gold_words_in_a_row(short: str | None, gold: str, holds: bool) -> None:
    assert loosely_contains(short, gold) is holds


def test_exact_is_equal_up_to_punctuation_and_articles() -> None:
    assert loose("28") == loose("28.")
    assert loose("die Pittsburgh Steelers") == loose("Pittsburgh Steelers")
    assert loose("in der 50. Minute") != loose("50. Minute")
