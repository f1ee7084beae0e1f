"""The single-writer lock of an index folder: one process writes, any number read."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import IndexUnavailable, disk_error
from rag.index.folder import check_index_dir
from rag.index.store import close_client, reset_client_cache, writer_client

log = logging.getLogger(__name__)


class WriteSession:
    """What a writer holding the lock opened: its store clients, closed when the write fails so
    that a store left mid-write (e.g. on a full disk) holds no file locks in this process."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self._clients: list[Any] = []

    def client(self, chroma_url: str | None) -> Any:
        made = writer_client(self.index_dir, chroma_url)
        self._clients.append(made)
        return made

    def close(self) -> None:
        for made in self._clients:
            close_client(made)
        self._clients.clear()


@contextlib.contextmanager
def writer_lock(index_dir: Path, wait: float = 0.0) -> Iterator[WriteSession]:
    """Hold the single-writer lock of ``index_dir``; wait up to ``wait`` seconds for it. A write
    that fails for want of disk space or write access ends as a one-line ``IndexUnavailable``."""
    check_index_dir(index_dir)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        fh = open(index_dir / ".write.lock", "a+")
    except OSError as exc:
        failed = disk_error(exc, index_dir)
        if failed is None:
            raise
        raise failed from exc
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            if time.monotonic() >= deadline:
                fh.close()
                raise IndexUnavailable(
                    f"{index_dir} is being updated by {holder}; wait for it to finish and run again "
                    "(or give --wait SECONDS)."
                ) from None
            if not told:
                log.warning("%s is being updated by %s; waiting up to %g s for it", index_dir, holder, wait)
                told = True
            time.sleep(0.2)
    session = WriteSession(index_dir)
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"process {os.getpid()}")
        fh.flush()
        yield session
    except BaseException as exc:
        session.close()
        failed = disk_error(exc, index_dir) if isinstance(exc, Exception) else None
        if failed is None:
            raise
        reset_client_cache()  # the next client starts from what is on disk, not from a failed store
        raise failed from exc
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        with contextlib.suppress(OSError):  # flushing the holder's name may fail again on a full disk
            fh.close()
