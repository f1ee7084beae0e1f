"""What an article says about itself besides its text: title, date, author, site and address.

Web pages and saved HTML give theirs in the page's metadata (read by trafilatura). Text and
Markdown files may start with front matter::

    ---
    title: Russland zieht Truppen zusammen
    date: 2021-04-20
    source: https://www.derstandard.at/story/...
    author: Jane Doe
    ---

which is taken off the article text (so no citation quotes it). A file without a date is dated by
its modification time, marked as such: that is when the file was written, not when the article was
published. A text that ends with a news signature, "(Michael Völker, 25.6.2015)" or "(APA, 8.8.2015)",
is dated (and, where it names one, credited) by it.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from rag.types import DATED_BY_BYLINE, DATED_BY_FILE, DATED_BY_FRONT_MATTER, DATED_BY_PAGE, Meta

FRONT_MATTER_LINES = 30  # a closing '---' further down is not front matter
FRONT_MATTER_KEYS = {"title", "date", "source", "author", "site", "url"}
_KEY_LINE = re.compile(r"^([A-Za-z_-]+)\s*:\s*(.*?)\s*$")
_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            "january januar jänner jan",
            "february februar feb",
            "march märz mar mär",
            "april apr",
            "may mai",
            "june juni jun",
            "july juli jul",
            "august aug",
            "september sept sep",
            "october oktober oct okt",
            "november nov",
            "december dezember dec dez",
        )
    )
    for name in names.split()
}
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d)?)?$")
_DOTTED = re.compile(r"^(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4})$")
_DAY_MONTH = re.compile(r"^(\d{1,2})\.?\s+([A-Za-zäÄ]+)\.?\s+(\d{4})$")
_MONTH_DAY = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})$")


def parse_date(value: str) -> str | None:
    """An ISO date (YYYY-MM-DD) from the ways dates are written: 2021-04-20, 2021-04-20T08:15:00Z,
    20.04.2021, 20. April 2021, April 20, 2021; None when it is none of them or no real day."""
    text = value.strip().strip("\"'")
    parts: tuple[int, int, int] | None = None
    if m := _ISO.match(text):
        parts = (int(m[1]), int(m[2]), int(m[3]))
    elif m := _DOTTED.match(text):
        parts = (int(m[3]), int(m[2]), int(m[1]))
    elif (m := _DAY_MONTH.match(text)) and m[2].lower() in _MONTHS:
        parts = (int(m[3]), _MONTHS[m[2].lower()], int(m[1]))
    elif (m := _MONTH_DAY.match(text)) and m[1].lower() in _MONTHS:
        parts = (int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
    if parts is None:
        return None
    try:
        return datetime.date(*parts).isoformat()
    except ValueError:
        return None


@dataclass(frozen=True)
class FrontMatter:
    """Front matter read off the top of a text: the text without it, the fields, and what was wrong."""

    text: str
    title: str | None = None
    meta: Meta = Meta()
    problem: str | None = None  # said as a note; the article is still indexed


def front_matter(text: str) -> FrontMatter:
    """Split off front matter between two '---' lines at the very top; a text without any is returned
    as it is. Malformed front matter loses nothing: the whole text stays the article, with a note."""
    lines = text.lstrip("\ufeff").split("\n")
    if not lines or lines[0].strip() != "---":
        return FrontMatter(text)
    try:
        end = next(i for i in range(1, min(len(lines), FRONT_MATTER_LINES + 1)) if lines[i].strip() == "---")
    except StopIteration:
        return FrontMatter(text, problem="its front matter has no closing '---' line; it is indexed as plain text")
    fields: dict[str, str] = {}
    for line in lines[1:end]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _KEY_LINE.match(line)
        if m is None:
            return FrontMatter(
                text, problem=f"its front matter line {line.strip()[:40]!r} is not 'key: value'; indexed as plain text"
            )
        key = m[1].lower()
        if key in FRONT_MATTER_KEYS and m[2]:
            fields[key] = m[2].strip("\"'")
    body = "\n".join(lines[end + 1 :]).lstrip("\n")
    problem, date = None, None
    if "date" in fields:
        date = parse_date(fields["date"])
        if date is None:
            problem = f"its date {fields['date'][:40]!r} is not a date (write it as YYYY-MM-DD); the file time is used"
    source = fields.get("source") or fields.get("url")
    url = source if source and urlparse(source).scheme in ("http", "https") else fields.get("url")
    site = fields.get("site") or (source if source and not url else None) or (_host(url) if url else None)
    meta = Meta(
        date=date,
        dated_by=DATED_BY_FRONT_MATTER if date else "",
        author=fields.get("author"),
        site=site,
        url=url,
    )
    return FrontMatter(body, fields.get("title"), meta, problem)


def page_meta(html: str, url: str | None = None) -> tuple[str | None, Meta]:
    """Title and metadata of a web page or saved HTML file, from its own metadata."""
    import trafilatura

    found = trafilatura.extract_metadata(html)
    if found is None:
        return None, Meta(site=_host(url) if url else None, url=url)
    date = parse_date(found.date) if found.date else None
    page_url = url or (found.url if found.url and urlparse(found.url).scheme in ("http", "https") else None)
    return (found.title.strip() if found.title else None), Meta(
        date=date,
        dated_by=DATED_BY_PAGE if date else "",
        author=found.author.strip() if found.author else None,
        site=(found.sitename or "").strip() or (_host(page_url) if page_url else None),
        url=page_url,
    )


_BYLINE = re.compile(r"\((?:([^()\n]{2,80}?)\s*[,;]\s*)?(\d{1,2}\.\s?\d{1,2}\.\s?\d{4})\)\s*$")


def with_byline(meta: Meta, text: str) -> Meta:
    """``meta``, dated (and credited) by the signature the text ends with, when it has no date."""
    if meta.date:
        return meta
    m = _BYLINE.search(text[-200:])
    day = parse_date(m[2].replace(" ", "")) if m else None
    if m is None or day is None:
        return meta
    author = meta.author or (m[1].strip() if m[1] else None)
    return Meta(day, DATED_BY_BYLINE, author, meta.site, meta.url)


def with_file_time(meta: Meta, path: Path) -> Meta:
    """``meta``, dated by the file's modification time when it has no date of its own."""
    if meta.date:
        return meta
    try:
        day = datetime.date.fromtimestamp(path.stat().st_mtime).isoformat()
    except (OSError, ValueError, OverflowError):
        return meta
    return Meta(day, DATED_BY_FILE, meta.author, meta.site, meta.url)


def _host(url: str | None) -> str | None:
    host = urlparse(url).hostname if url else None
    return host.removeprefix("www.") if host else None
