"""Read articles from files, folders and web addresses into ``Article`` objects.

Each input is checked before the index is touched: what cannot be used raises an ``InputError``
whose message names the input and says what to do.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import urlparse

from rag.articles.addresses import AddressGuard
from rag.articles.chunking import sentences, text_hash
from rag.articles.fetch import DIRECT, fetch
from rag.articles.metadata import front_matter, page_meta, with_byline, with_file_time
from rag.articles.proxy import Proxies
from rag.errors import InputError
from rag.language.lexical import detect_language
from rag.types import Article, Meta

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES
TITLE_CHARS = 100
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class Source:
    """One input as the user gave it: a file (maybe found in a folder) or a web address."""

    name: str
    path: Path | None = None
    named: bool = True  # given by name, not found inside a folder


@dataclass(frozen=True)
class Loaded:
    article: Article
    note: str | None = None


def is_url(text: str) -> bool:
    return bool(_SCHEME.match(text))


def is_utf8(text: str) -> bool:
    """False for a string holding bytes that were not UTF-8 (a file name or argument in another
    encoding reaches Python as lone surrogates, which cannot be stored or embedded)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def web_address(text: str) -> str:
    """``text`` when it is an address this program fetches, else an ``InputError`` saying so."""
    if not is_url(text) or urlparse(text).scheme.lower() not in ("http", "https"):
        raise InputError(f"{text}: only http:// and https:// addresses can be fetched.")
    return text


def collect_sources(paths: Iterable[str | Path]) -> list[Source]:
    """Expand folders into their article files; each source named as the user gave it."""
    found: list[Source] = []
    for given in paths:
        text = str(given)
        if is_url(text):
            found.append(Source(web_address(text)))
            continue
        path = Path(given)
        if not path.exists():
            raise InputError(f"{text}: no such file or folder; check the path.")
        if path.is_dir():
            found.extend(Source(str(Path(text) / p.relative_to(path)), p, named=False) for p in _walk(path))
        else:
            found.append(Source(text, path))
    unique: dict[str, Source] = {}
    for src in found:
        unique.setdefault(src.name, src)
    return list(unique.values())


def _walk(folder: Path) -> list[Path]:
    """Article files under ``folder``, hidden ones skipped; an unreadable folder is an error."""

    def refuse(err: OSError) -> None:
        raise InputError(f"{err.filename} cannot be read ({err.strerror}); check its permissions.")

    out = []
    for root, dirs, files in os.walk(folder, onerror=refuse):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(root) / f for f in files if not f.startswith(".") and Path(f).suffix.lower() in SUFFIXES)
    return sorted(out)


def load(source: Source, max_bytes: int, timeout: float, guard: AddressGuard, proxies: Proxies = DIRECT) -> Loaded:
    """The article behind one source, read, decoded and (for HTML) extracted; a web address is
    fetched only from addresses ``guard`` allows, through the proxy ``proxies`` names for it."""
    if not is_utf8(source.name):  # a file name in another encoding: the index stores names as UTF-8
        raise InputError(f"{source.name}: the name is not UTF-8 text; rename the file.")
    if source.path is None:
        return fetch_article(source.name, max_bytes, timeout, guard, proxies)
    return read_article(source.path, source.name, max_bytes)


def read_article(path: Path, source: str, max_bytes: int) -> Loaded:
    """One article from a file: the text offsets refer to, a title, the language."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"{source} is {size:,} bytes, over the limit of {max_bytes:,}; split it or raise RAG_MAX_FILE_BYTES."
            )
        data = path.read_bytes()
    except PermissionError:
        raise InputError(f"{source} cannot be read (permission denied); check its permissions.") from None
    except IsADirectoryError:
        raise InputError(f"{source} is a folder; give files or a folder of articles.") from None
    except OSError as exc:
        raise InputError(f"{source} cannot be read ({exc.strerror}).") from None
    text, encoding = decode(data, source)
    notes = []
    if encoding != "utf-8":
        notes.append(f"read as {encoding}; citations refer to the text stored in the index")
    if path.suffix.lower() in HTML_SUFFIXES:
        text, title, meta = html_to_text(text, source)
    else:
        found = front_matter(text)
        if found.problem:
            notes.append(found.problem)
        if not found.text.strip():
            raise InputError(f"{source} holds only front matter; add the article's text below its closing '---'.")
        text, title, meta = found.text, found.title, with_byline(found.meta, found.text)
    note = f"{source}: {'; '.join(notes)}." if notes else None
    article = make_article(text, source, _shorten(title) if title else title_of(text, path.stem), meta)
    return Loaded(replace(article, meta=with_file_time(article.meta, path)), note)


def decode(data: bytes, name: str, declared: str | None = None) -> tuple[str, str]:
    """Text of a file and the encoding it was read with, or an ``InputError`` saying why not.

    UTF-8 first; otherwise the encoding is detected (e.g. Windows-1252 German). Line ends are
    normalized as Python's text mode does, so offsets match ``open(path).read()``.
    """
    if not data.strip():
        raise InputError(f"{name} is empty; give a file with the article's text.")
    text, encoding = None, "utf-8"
    for bom, enc in (
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            text, encoding = _try_decode(data, enc), enc
            break
    if text is None:
        if b"\x00" in data:
            raise _binary(name)
        for enc in (declared, "utf-8"):
            if enc and text is None:
                text, encoding = _try_decode(data, enc), enc
        if text is None:
            text, encoding = _detect(data)
    if text is None:
        raise _binary(name)
    sample = text[:8192]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.01 * len(sample):
        raise _binary(name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip(" \t\n\f\v\ufeff"):
        raise InputError(f"{name} is empty; give a file with the article's text.")
    return text, encoding


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _detect(data: bytes) -> tuple[str | None, str]:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        return None, ""
    return str(best), best.encoding


def _binary(name: str) -> InputError:
    return InputError(f"{name} looks like a binary file, not text; give a .txt, .md or .html article.")


def make_article(text: str, source: str, title: str, meta: Meta | None = None) -> Article:
    return Article(
        id=text_hash(text)[:16],
        source=source,
        title=title,
        text=text,
        lang=detect_language(text[:4000]),
        meta=meta or Meta(),
    )


def html_to_text(html: str, source: str, url: str | None = None) -> tuple[str, str | None, Meta]:
    """Main text, title and metadata of a saved news page, extracted by trafilatura."""
    import trafilatura

    text = trafilatura.extract(html, include_comments=False, include_tables=False, favor_recall=True)
    if not text or not text.strip():
        raise InputError(f"{source}: no article text found in this HTML page.")
    title, meta = page_meta(html, url)
    return text.replace("\r\n", "\n"), (_shorten(title) if title else None), meta


def title_of(text: str, fallback: str) -> str:
    """A Markdown heading, else the first line when short, else its first sentence, else ``fallback``."""
    for line in text.splitlines():
        line = line.strip(" \t\ufeff")
        if not line:
            continue
        heading = re.match(r"#{1,6}\s+(.+)", line)
        if heading:
            return _shorten(heading.group(1).strip())
        if len(line) <= TITLE_CHARS:
            return line
        first = sentences(line)
        return _shorten(line[first[0].start : first[0].end]) if first else _shorten(line)
    return fallback


def _shorten(text: str) -> str:
    if len(text) <= TITLE_CHARS:
        return text
    cut = text.rfind(" ", 0, TITLE_CHARS)
    return text[: cut if cut > 40 else TITLE_CHARS].rstrip(" ,;:") + "…"


# -- web addresses ---------------------------------------------------------------------------


def fetch_article(url: str, max_bytes: int, timeout: float, guard: AddressGuard, proxies: Proxies = DIRECT) -> Loaded:
    """Fetch a web article with size and time limits, from addresses ``guard`` allows (through the
    proxy ``proxies`` names for it); HTML is reduced to its main text."""
    page = fetch(url, max_bytes, timeout, guard, proxies)
    text, _ = decode(page.body, url, declared=page.charset)
    title, meta = None, Meta(site=urlparse(url).hostname, url=url)
    if page.media_type not in ("text/plain", "text/markdown"):
        text, title, meta = html_to_text(text, url, url)
    path = urlparse(url).path.rstrip("/")
    fallback = PurePosixPath(path).stem or urlparse(url).hostname or url
    note = f"{url}: fetched {len(page.body):,} bytes; citations refer to the text stored in the index."
    return Loaded(make_article(text, url, title or title_of(text, fallback), meta), note)


# -- uploads ---------------------------------------------------------------------------------


def safe_seed_path(seeds_dir: Path, filename: str) -> Path:
    """Where an uploaded file may be saved: directly inside ``seeds_dir``, or an ``InputError``.

    Refuses names that would leave the folder (``../``, absolute paths, drive letters, separators),
    hidden names, and types that cannot be indexed. A link already at that name is not followed.
    """
    name = filename or ""
    shown = name if len(name) <= 80 else name[:77] + "..."
    leaves = (
        not name.strip()
        or "\x00" in name
        or "/" in name
        or "\\" in name
        or PureWindowsPath(name).drive
        or Path(name).is_absolute()
        or name in (".", "..")
    )
    if leaves:
        raise InputError(f"The file name {shown!r} is not a plain file name; rename the file and upload it again.")
    if name.startswith("."):
        raise InputError(f"The file name {shown!r} is hidden (starts with '.'); rename the file and upload it again.")
    if Path(name).suffix.lower() not in SUFFIXES:
        raise InputError(f"{shown} is not a .txt, .md or .html file; only articles in those formats can be added.")
    target = seeds_dir / name
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise InputError(f"{shown} already exists in {seeds_dir} and is not a plain file; choose another name.")
    if target.resolve().parent != seeds_dir.resolve():
        raise InputError(f"The file name {shown!r} would leave {seeds_dir}; rename the file and upload it again.")
    return target
