"""Language resources read from the system once per process: parsed on first use (or started in the
background), kept for the process; a missing file gives None and one warning from its opener."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")
L = TypeVar("L", bound="LineResource")
log = logging.getLogger(__name__)


def derived(
    source: Path,
    cache_dir: Path | None,
    name: str,
    version: str,
    read: Callable[[Path], T],
    make: Callable[[], T],
    write: Callable[[T, Path], None],
) -> T:
    """The resource ``make`` derives from ``source``, kept as a table in ``cache_dir`` named by the
    source's size and time and the table's ``version``: read from there when it is (and is whole),
    else made and written there (a read-only cache only costs the next start the parse). An error
    reading ``source`` is the caller's to report."""
    cached = None
    if cache_dir is not None:
        stat = source.stat()
        cached = cache_dir.expanduser() / f"{name}-{stat.st_size}-{stat.st_mtime_ns}-{version}.tsv"
        try:
            return read(cached)
        except (OSError, ValueError):
            pass  # not made yet (or damaged): made again below
    made = make()
    if cached is not None:
        try:
            write(made, cached)
        except OSError as exc:
            log.debug("could not keep the %s table in %s: %s", name, cached, exc)
    return made


class LineResource(Protocol):
    """A resource parsed from a text file's lines and kept as a derived table."""

    @classmethod
    def from_lines(cls: type[L], lines: Iterable[str]) -> L: ...

    @classmethod
    def read_table(cls: type[L], path: Path) -> L: ...

    def write_table(self, path: Path) -> None: ...


def derived_from_lines(source: Path, cache_dir: Path | None, name: str, version: str, kind: type[L]) -> L:
    """``derived`` for a resource ``kind`` parses from the lines of ``source``."""

    def parse() -> L:
        with source.open(encoding="utf-8", errors="replace") as lines:
            return kind.from_lines(lines)

    return derived(source, cache_dir, name, version, kind.read_table, parse, kind.write_table)


class Once(Generic[T]):
    """The resource at a path, opened by ``opener(path, cache_dir)`` at most once per path."""

    def __init__(self, opener: Callable[[Path, Path | None], T | None], name: str) -> None:
        self._opener = opener
        self._name = name
        self._loaded: dict[Path, T | None] = {}
        self._started: set[Path] = set()
        self._lock = threading.Lock()

    def load(self, path: Path | None, cache_dir: Path | None = None) -> T | None:
        """The resource at ``path`` (None when unset or missing)."""
        if path is None:
            return None
        path = path.expanduser()
        with self._lock:
            if path not in self._loaded:
                self._loaded[path] = self._opener(path, cache_dir)
            return self._loaded[path]

    def preload(self, path: Path | None, cache_dir: Path | None = None) -> None:
        """Start reading the resource in the background, unless it was read (or is being read)."""
        if path is None:
            return
        path = path.expanduser()
        with self._lock:
            if path in self._started or path in self._loaded:
                return
            self._started.add(path)
        threading.Thread(target=self.load, args=(path, cache_dir), name=f"rag-load-{self._name}", daemon=True).start()
