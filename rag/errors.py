"""The few error types the program raises; each message says what to do."""

from __future__ import annotations

import unicodedata

# Characters that break a line, besides the control characters.
_LINE_BREAKS = set("\u0085\u2028\u2029")


def one_line(text: str) -> str:
    """``text`` with line breaks, control characters and undecodable bytes written as escapes
    (``\\n``, ``\\x00``, ``\\udcff``): a file name may hold any of them, a message stays one line."""
    return "".join(
        ascii(ch)[1:-1] if ch in _LINE_BREAKS or unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text
    )


class RagError(Exception):
    """Base class: the message is shown to the user as one line."""

    def __str__(self) -> str:
        return one_line(super().__str__())


class InputError(RagError):
    """A question, file or path the user gave cannot be used."""


class IndexUnavailable(RagError):
    """The index is missing, damaged, busy or built with another model."""
