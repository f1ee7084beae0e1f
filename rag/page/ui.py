"""What the chat page shows, as strings: article text made inert, quotes highlighted, the index status.

Article text is never trusted. Streamlit renders Markdown (and, where asked, HTML), so every
character that means something in either language is written as a character reference: the
browser shows it as the character and nothing in an article can become a tag, link or image.
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.index.store import Manifest
from rag.types import Answer, Citation, Passage

# ASCII punctuation that is harmless in both HTML and Markdown (outside line starts, which
# ``block`` never produces) stays readable; everything else becomes a character reference.
_PLAIN = set(",.;?")
_MARKER = re.compile(r"\[(\d+)\]")
CONTEXT_CHARS = 220
STREAM_SECONDS = 0.8


def escape(text: str) -> str:
    """``text`` as inert Markdown/HTML that displays exactly as ``text``."""
    out = []
    for ch in text:
        if ch.isascii() and not ch.isalnum() and not ch.isspace() and ch not in _PLAIN:
            out.append(f"&#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def block(text: str) -> str:
    """Escaped text on one line, line breaks as ``<br>``: one HTML block that Markdown leaves alone."""
    return "<br>".join(escape(line) for line in text.replace("\r\n", "\n").split("\n"))


def answer_markdown(answer: Answer) -> str:
    """The answer text, escaped, with its ``[n]`` citation markers kept readable."""
    parts = _MARKER.split(answer.answer)
    # split() alternates text and captured marker numbers
    return "".join(escape(p) if i % 2 == 0 else f"[{p}]" for i, p in enumerate(parts))


def stream_words(markdown: str, seconds: float = STREAM_SECONDS) -> Iterator[str]:
    """The answer word by word (never inside a character reference), over at most ``seconds``."""
    words = re.findall(r"\S+\s*|\s+", markdown)
    pause = min(0.04, seconds / max(len(words), 1))
    for word in words:
        yield word
        time.sleep(pause)


def highlight(text: str, start: int, end: int, anchor: str | None = None) -> str:
    """``text`` escaped, with ``text[start:end]`` in a ``<mark>``."""
    attr = f' id="{anchor}"' if anchor else ""
    return f"{block(text[:start])}<mark{attr}>{block(text[start:end])}</mark>{block(text[end:])}"


@dataclass(frozen=True)
class Context:
    """The stretch of an article shown around a quote."""

    text: str
    start: int
    more_before: bool
    more_after: bool


def citation_context(citation: Citation, passages: Sequence[Passage], article_text: str | None) -> Context:
    """The retrieved passage holding the quote, else a window of the article around it."""
    text, start = citation.quote, citation.start
    for p in passages:
        if p.article_id == citation.article_id and p.start <= citation.start and citation.end <= p.end:
            text, start = p.text, p.start
            break
    else:
        if article_text is not None:
            lo = max(0, citation.start - CONTEXT_CHARS)
            hi = min(len(article_text), citation.end + CONTEXT_CHARS)
            # widen to whole words so the context does not start or end mid-word
            while lo > 0 and not article_text[lo - 1].isspace():
                lo -= 1
            while hi < len(article_text) and not article_text[hi].isspace():
                hi += 1
            text, start = article_text[lo:hi], lo
    after = True if article_text is None else bool(article_text[start + len(text) :].strip())
    return Context(text, start, more_before=start > 0, more_after=after)


def citation_html(citation: Citation, context: Context) -> str:
    """One numbered citation: title, source, and the quote highlighted inside its passage."""
    s, e = citation.start - context.start, citation.end - context.start
    lead = "… " if context.more_before else ""
    tail = " …" if context.more_after else ""
    return (
        '<div class="rag-cite" style="border-left:3px solid #e0a800;padding:0.2rem 0.8rem;margin:0.4rem 0">'
        f'<div style="font-weight:600">[{citation.n}] {escape(citation.title)}</div>'
        f'<div style="font-size:0.8em;opacity:0.7">{escape(citation.source)}, '
        f"characters {citation.start}&#8211;{citation.end}</div>"
        f"<div>{lead}{highlight(context.text, s, e)}{tail}</div></div>"
    )


def article_html(text: str, start: int, end: int, anchor: str) -> str:
    """The whole article, the quote highlighted, with a link that scrolls to it."""
    return (
        f'<div><a href="#{anchor}">Jump to the quote</a></div>'
        '<div class="rag-article" style="max-height:22rem;overflow-y:auto;padding:0.5rem 0.8rem;'
        'border:1px solid rgba(128,128,128,0.35);border-radius:0.4rem;line-height:1.5">'
        f"{highlight(text, start, end, anchor)}</div>"
    )


def passage_html(passage: Passage) -> str:
    """A retrieved passage shown as plain, escaped text."""
    return (
        '<div style="border-left:3px solid #999;padding:0.2rem 0.8rem;margin:0.4rem 0">'
        f'<div style="font-weight:600">{escape(passage.title)}</div>'
        f'<div style="font-size:0.8em;opacity:0.7">{escape(passage.source)}, '
        f"characters {passage.start}&#8211;{passage.end}</div>"
        f"<div>{block(passage.text)}</div></div>"
    )


@dataclass(frozen=True)
class IndexStatus:
    articles: int
    chunks: int
    model: str
    built: str

    @classmethod
    def of(cls, manifest: Manifest) -> IndexStatus:
        built = datetime.datetime.fromtimestamp(manifest.built_at).strftime("%Y-%m-%d %H:%M")
        dim = manifest.embedding.get("dim")
        return cls(
            articles=len(manifest.articles),
            chunks=sum(int(m.get("chunks", 0)) for m in manifest.articles.values()),
            model=f"{manifest.embedding.get('name')} ({dim}-d)",
            built=built,
        )


def status_html(manifest: Manifest) -> str:
    """The sidebar's index summary and its list of articles (title, source, chunks)."""
    s = IndexStatus.of(manifest)
    head = (
        f"<div><b>{s.articles}</b> article{'s' if s.articles != 1 else ''}, <b>{s.chunks}</b> chunks<br>"
        f"Model: {escape(s.model)}<br>Built: {escape(s.built)}</div>"
    )
    items = "".join(
        f'<li>{escape(m["title"])}<br><small title="{escape(m["source"])}">{escape(Path(m["source"]).name)}, '
        f"{int(m.get('chunks', 0))} chunks</small></li>"
        for m in sorted(manifest.articles.values(), key=lambda m: m.get("added_at", 0))
    )
    return f'{head}<ul style="margin-top:0.5rem">{items}</ul>'


def titles_html(manifest: Manifest) -> str:
    """The articles the bot knows, for the welcome block."""
    items = "".join(f"<li>{escape(m['title'])}</li>" for m in manifest.articles.values())
    return f"<ul>{items}</ul>"
