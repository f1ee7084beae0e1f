"""The few error types the program raises; each message says what to do."""

from __future__ import annotations

import errno
import shutil
import unicodedata
from pathlib import Path

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


_FULL = {errno.ENOSPC, errno.EDQUOT}
_DENIED = {errno.EROFS, errno.EACCES, errno.EPERM}
# How the vector store (SQLite inside Chroma) words the same conditions.
_FULL_WORDS = ("disk is full", "no space left", "quota exceeded")
_DENIED_WORDS = ("readonly database", "read-only file system", "permission denied", "operation not permitted")
# Below this much free space, a vector store write that failed without saying why is taken for a
# full disk (Chroma then reports e.g. "Failed to apply logs to the metadata segment").
LOW_SPACE = 16 * 1024 * 1024


def disk_error(exc: BaseException, folder: Path, writing: bool = True) -> IndexUnavailable | None:
    """The one-line error for an operation on the index in ``folder`` that failed for want of disk
    space or write access (an ``OSError``, or a vector store error saying so); None otherwise."""
    from_store = type(exc).__module__.split(".")[0] == "chromadb"
    if not isinstance(exc, OSError) and not from_store:
        return None
    code = exc.errno if isinstance(exc, OSError) else None
    words = str(exc).lower()
    if code in _FULL or any(w in words for w in _FULL_WORDS) or (from_store and _free(folder) < LOW_SPACE):
        if not writing:
            return IndexUnavailable(
                f"The disk holding {folder} is full, and the vector store needs some free space to be read; "
                "free some space and ask again."
            )
        return IndexUnavailable(
            f"The disk holding {folder} is full; the index keeps its last complete state. "
            "Free some space, then run: python -m rag index"
        )
    if code in _DENIED or any(w in words for w in _DENIED_WORDS):
        if not writing:
            return IndexUnavailable(read_only_index(folder))
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "read-only"
        return IndexUnavailable(
            f"{folder} cannot be written ({why}); the index keeps its last complete state. "
            "Make the folder writable, or copy it and give the copy with --index-dir."
        )
    return None


def read_only_index(folder: Path) -> str:
    return (
        f"{folder} is read-only: nothing can be indexed into it, and its vector store (chroma/) can only "
        "be opened with write access; make the folder writable, or copy it and give the copy with --index-dir."
    )


def _free(folder: Path) -> int:
    for path in (folder, *folder.parents):
        try:
            return shutil.disk_usage(path).free
        except OSError:
            continue
    return LOW_SPACE
