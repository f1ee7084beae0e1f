"""Articles added from the chat page: checked, saved under a safe name in the seeds folder, indexed
in a background thread so the chat keeps answering (from the previous index) meanwhile."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.articles.addresses import AddressGuard
from rag.articles.ingest import decode, fetch_article, web_address
from rag.config import Settings
from rag.embeddings import background
from rag.errors import InputError, RagError
from rag.index.manifest import read_manifest

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = (".txt", ".md", ".html", ".htm")
NAME_CHARS = 48
READ_ONLY = "This chat is read-only (RAG_READ_ONLY): articles are added with python -m rag index on the server."
BACKGROUND_NICE = 10  # CPU priority of the indexing thread (and the engine threads it starts)


def safe_name(filename: str, data: bytes) -> str:
    """A file name that cannot leave the seeds folder or collide: ``<slug>_<content hash><suffix>``."""
    path = Path(filename.replace("\\", "/"))
    suffix = path.suffix.lower() if path.suffix.lower() in UPLOAD_SUFFIXES else ".txt"
    ascii_stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-")[:NAME_CHARS].strip("-")
    digest = hashlib.sha256(data).hexdigest()[:10]
    return f"{slug or 'article'}_{digest}{suffix}"


def check_file(filename: str, data: bytes, settings: Settings) -> str:
    """The safe name for an uploaded file, or an ``InputError`` saying why it cannot be added."""
    shown = Path(filename.replace("\\", "/")).name or "The file"
    if Path(shown).suffix.lower() not in UPLOAD_SUFFIXES:
        raise InputError(f"{shown} is not a .txt, .md or .html file; save the article as one of these.")
    if len(data) > settings.max_file_bytes:
        raise InputError(
            f"{shown} is {len(data):,} bytes, over the limit of {settings.max_file_bytes:,}; "
            "split it or raise RAG_MAX_FILE_BYTES."
        )
    decode(data, shown)
    return safe_name(shown, data)


def pasted(title: str, text: str, settings: Settings) -> tuple[str, bytes]:
    """A pasted article as a file: its title on the first line (which becomes the indexed title)."""
    title, text = " ".join((title or "").split()), (text or "").strip()
    if not text:
        raise InputError("The article text is empty; paste the article's text.")
    if not title:
        raise InputError("The article needs a title; type one above the text.")
    body = text if text.startswith(title) else f"{title}\n\n{text}"
    data = (body + "\n").encode("utf-8")
    if len(data) > settings.max_file_bytes:
        raise InputError(f"The pasted text is {len(data):,} bytes, over the limit of {settings.max_file_bytes:,}.")
    return safe_name(re.sub(r"[/\\]", "-", title) + ".txt", data), data


def from_address(address: str, settings: Settings) -> tuple[str, bytes]:
    """A web article fetched now and kept as a text file (title first, its address last), so the
    seeds folder holds what was indexed and can be indexed again offline. Only public addresses
    (and those RAG_FETCH_ALLOW names) are fetched: the page fetches for whoever can open it."""
    url = (address or "").strip()
    if not url:
        raise InputError("Type the address of an article, e.g. https://example.org/news/article.html.")
    guard = AddressGuard.allowing(settings.fetch_allow)
    proxies = settings.proxies()  # HTTPS_PROXY / HTTP_PROXY / NO_PROXY; the guard still judges the target
    article = fetch_article(web_address(url), settings.max_file_bytes, settings.fetch_timeout, guard, proxies).article
    return pasted(article.title, f"{article.text.rstrip()}\n\n{url}", settings)


def save(seeds_dir: Path, name: str, data: bytes) -> tuple[Path, bool]:
    """Write ``data`` to ``seeds_dir/name`` atomically; False when that exact file was already there."""
    seeds_dir.mkdir(parents=True, exist_ok=True)
    path = seeds_dir / name
    if path.exists():
        return path, False
    tmp = seeds_dir / f".{name}.{os.getpid()}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path, True


@dataclass(frozen=True)
class Outcome:
    level: str  # "success", "info" or "error"
    message: str


class IndexJob:
    """Indexes one saved article file in a thread; the page polls ``done``/``total``/``outcome``."""

    def __init__(self, bot: Any, path: Path, created: bool, wait: float = 120.0) -> None:
        self.bot, self.path, self.created, self.wait = bot, path, created, wait
        self.done, self.total = 0, 0
        self.outcome: Outcome | None = None
        self._thread = threading.Thread(target=self._run, name=f"index {path.name}", daemon=True)

    def start(self) -> IndexJob:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self.outcome is None

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _progress(self, done: int, total: int, source: str) -> None:
        self.done, self.total = done, total

    def _run(self) -> None:
        _lower_priority()
        try:
            with background():
                self.outcome = self._index()
        except InputError as exc:
            self._discard()
            self.outcome = Outcome("error", str(exc))
        except RagError as exc:
            self.outcome = Outcome("error", f"{exc} The article is saved as {self.path}; add it again later.")
        except Exception as exc:  # shown on the page; the details go to the log
            log.exception("indexing %s failed", self.path)
            self.outcome = Outcome(
                "error",
                f"Indexing failed ({type(exc).__name__}); the article is saved as {self.path}. See the server log.",
            )

    def _index(self) -> Outcome:
        report = self.bot.index([self.path], progress=self._progress, wait=self.wait)
        source = str(self.path)
        if report.duplicates:
            self._discard()
            return Outcome("info", f"The same text is already indexed as {report.duplicates[0][1]}; nothing added.")
        if source in report.unchanged:
            return Outcome("info", "This article is already in the index.")
        manifest = read_manifest(self.bot.settings.index_dir)
        meta = next((m for m in manifest.articles.values() if m["source"] == source), None) if manifest else None
        if meta is None:
            return Outcome("success", f"Indexed {self.path.name}.")
        return Outcome("success", f"Added “{meta['title']}” ({meta['chunks']} chunks). Ask about it in the chat.")

    def _discard(self) -> None:
        """Remove a file this job saved that did not become an article."""
        if self.created:
            self.path.unlink(missing_ok=True)


def _lower_priority() -> None:
    """Let this thread, and the threads it starts, give way on the CPU to the questions being
    answered meanwhile (Linux sets a nice value per thread; elsewhere this does nothing)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (AttributeError, OSError) as exc:
        log.debug("indexing runs at normal priority: %s", exc)


def start_job(bot: Any, name: str, data: bytes) -> IndexJob:
    """Save the checked article into the seeds folder and start indexing it."""
    if bot.settings.read_only:
        raise InputError(READ_ONLY)
    path, created = save(bot.settings.seeds_dir, name, data)
    return IndexJob(bot, path, created).start()
