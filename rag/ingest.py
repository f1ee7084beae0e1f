"""Read articles from files and folders into ``Article`` objects, refusing what cannot be used."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

from rag.chunking import sentences, text_hash
from rag.errors import InputError
from rag.lexical import detect_language
from rag.types import Article

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES
TITLE_CHARS = 100


def collect_files(paths: Iterable[str | Path]) -> list[tuple[Path, str]]:
    """Expand folders into their article files; each file with its source as the user gave it."""
    found: list[tuple[Path, str]] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise InputError(f"{given}: no such file or folder; check the path.")
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
            )
            found.extend((p, str(Path(given) / p.relative_to(path))) for p in files)
        else:
            found.append((path, str(given)))
    return found


def decode(data: bytes, name: str) -> str:
    """UTF-8 text of a file, or an ``InputError`` that says why it is not usable."""
    if not data.strip():
        raise InputError(f"{name} is empty; give a file with the article's text.")
    if b"\x00" in data[:8192]:
        raise InputError(f"{name} looks like a binary file; give a .txt, .md or .html article.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name} is not UTF-8 text (byte {exc.start}); save it as UTF-8, "
            "e.g. iconv -f latin1 -t utf-8 FILE > NEW"
        ) from None
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.05 * min(len(text), 8192):
        raise InputError(f"{name} looks like a binary file; give a .txt, .md or .html article.")
    if not text.strip():
        raise InputError(f"{name} is empty; give a file with the article's text.")
    return text


def read_article(path: Path, source: str, max_bytes: int) -> Article:
    """One article from a file: the text offsets refer to, a title, the language."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"{source} is {size:,} bytes, over the limit of {max_bytes:,}; "
                "split it or raise RAG_MAX_FILE_BYTES."
            )
        data = path.read_bytes()
    except PermissionError:
        raise InputError(f"{source} cannot be read (permission denied); check its permissions.") from None
    except IsADirectoryError:
        raise InputError(f"{source} is a folder; give files or a folder of articles.") from None
    text = decode(data, source)
    title = None
    if path.suffix.lower() in HTML_SUFFIXES:
        text, title = html_to_text(text, source)
    return make_article(text, source, title or title_of(text, path))


def make_article(text: str, source: str, title: str) -> Article:
    return Article(
        id=text_hash(text)[:16],
        source=source,
        title=title,
        text=text,
        lang=detect_language(text[:4000]),
    )


def html_to_text(html: str, source: str) -> tuple[str, str | None]:
    """Main text and title of a saved news page, extracted by trafilatura."""
    import trafilatura

    text = trafilatura.extract(html, include_comments=False, include_tables=False, favor_recall=True)
    if not text or not text.strip():
        raise InputError(f"{source}: no article text found in this HTML page.")
    meta = trafilatura.extract_metadata(html)
    return text, (meta.title if meta is not None and meta.title else None)


def title_of(text: str, path: Path) -> str:
    """A Markdown heading, else the first line when short, else its first sentence, else the file name."""
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        heading = re.match(r"#{1,6}\s+(.+)", line)
        if heading:
            return _shorten(heading.group(1).strip())
        if len(line) <= TITLE_CHARS:
            return line
        first = sentences(line)
        return _shorten(line[first[0].start : first[0].end]) if first else _shorten(line)
    return path.stem


def _shorten(text: str) -> str:
    if len(text) <= TITLE_CHARS:
        return text
    cut = text.rfind(" ", 0, TITLE_CHARS)
    return text[: cut if cut > 40 else TITLE_CHARS].rstrip(" ,;:") + "…"
