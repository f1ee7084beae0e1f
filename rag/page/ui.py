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

from rag.answering.desk import recency
from rag.index.manifest import Manifest
from rag.types import Answer, Citation, Meta, Passage

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
    return highlight_spans(text, [(start, end)], anchor)


def highlight_spans(
    text: str, spans: Sequence[tuple[int, int]], anchor: str | None = None, strong: tuple[int, int] | None = None
) -> str:
    """``text`` escaped, each of ``spans`` in a ``<mark>`` (overlapping ones as one); the first
    mark carries ``anchor`` as its id; ``strong`` (inside one of the spans: the short answer within
    its quote) is also set in bold."""
    merged: list[list[int]] = []
    for s, e in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        elif s < e:
            merged.append([s, e])
    out, pos = [], 0
    for i, (s, e) in enumerate(merged):
        attr = f' id="{anchor}"' if anchor and i == 0 else ""
        inner = block(text[s:e])
        if strong is not None and s <= strong[0] < strong[1] <= e:
            a, b = strong
            inner = f"{block(text[s:a])}<strong>{block(text[a:b])}</strong>{block(text[b:e])}"
        out.append(f"{block(text[pos:s])}<mark{attr}>{inner}</mark>")
        pos = e
    out.append(block(text[pos:]))
    return "".join(out)


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


@dataclass(frozen=True)
class Shown:
    """Citations shown as one block: the quotes of one passage (or one metadata line) together."""

    citations: tuple[Citation, ...]
    context: Context | None  # None for a line of the article's metadata

    @property
    def numbers(self) -> str:
        return " ".join(f"[{c.n}]" for c in self.citations)


def group_citations(
    citations: Sequence[Citation], passages: Sequence[Passage], texts: dict[str, str | None]
) -> list[Shown]:
    """One block per passage, in the order of the first citation in each; quotes of one passage
    are shown once with all of them highlighted."""
    blocks: list[tuple[tuple[str, int, int] | None, list[Citation], Context | None]] = []
    for c in citations:
        if not c.verbatim:
            blocks.append((None, [c], None))
            continue
        context = citation_context(c, passages, texts.get(c.article_id))
        key = (c.article_id, context.start, context.start + len(context.text))
        for k, members, _ in blocks:
            if k == key:
                members.append(c)
                break
        else:
            blocks.append((key, [c], context))
    return [Shown(tuple(members), context) for _, members, context in blocks]


def short_within(citation: Citation, short: str | None) -> tuple[int, int] | None:
    """Where ``short`` (the short answer, a few words of the quote) stands in the article, when it is
    part of ``citation``'s quote and not the whole of it."""
    if not short or short == citation.quote or short not in citation.quote:
        return None
    start = citation.start + citation.quote.index(short)
    return start, start + len(short)


def shown_html(shown: Shown, short: str | None = None) -> str:
    """One block of citations: numbers and title, then date and source, then the quotes
    highlighted inside their passage (or the metadata line they come from); ``short``, the short
    answer, in bold inside quote [1]."""
    first = shown.citations[0]
    facts = [first.date] if first.date else []
    if shown.context is None:
        facts.append("from the article's metadata")
        body = f"<div><mark>{block(first.quote)}</mark></div>"
    else:
        ranges = ", ".join(f"{c.start}&#8211;{c.end}" for c in shown.citations)
        facts.append(f"{escape(first.source)}, characters {ranges}")
        ctx = shown.context
        spans = [(c.start - ctx.start, c.end - ctx.start) for c in shown.citations]
        where = next((w for c in shown.citations if c.n == 1 and (w := short_within(c, short))), None)
        strong = (where[0] - ctx.start, where[1] - ctx.start) if where else None
        lead = "… " if ctx.more_before else ""
        tail = " …" if ctx.more_after else ""
        body = f"<div>{lead}{highlight_spans(ctx.text, spans, strong=strong)}{tail}</div>"
    meta = " · ".join(f if "&#" in f or "characters" in f else escape(f) for f in facts)
    return (
        '<div class="rag-cite" style="border-left:3px solid #e0a800;padding:0.2rem 0.8rem;margin:0.4rem 0">'
        f'<div style="font-weight:600">{shown.numbers} {escape(first.title)}</div>'
        f'<div style="font-size:0.8em;opacity:0.7">{meta}</div>{body}</div>'
    )


def citation_html(citation: Citation, context: Context) -> str:
    """One numbered citation: title, date and source, and the quote highlighted inside its passage."""
    return shown_html(Shown((citation,), context))


def article_html(text: str, start: int, end: int, anchor: str, more: Sequence[tuple[int, int]] = ()) -> str:
    """The whole article, the quote (and ``more`` quotes) highlighted, with a link that scrolls to it."""
    return (
        f'<div><a href="#{anchor}">Jump to the quote</a></div>'
        '<div class="rag-article" style="max-height:22rem;overflow-y:auto;padding:0.5rem 0.8rem;'
        'border:1px solid rgba(128,128,128,0.35);border-radius:0.4rem;line-height:1.5">'
        f"{highlight_spans(text, [(start, end), *more], anchor)}</div>"
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


def newest_first(manifest: Manifest) -> list[tuple[str, dict]]:
    """The indexed articles, newest first: by publication date, then those dated by their file's time,
    then undated ones (each group by when it was added, newest first)."""

    def key(item: tuple[str, dict]) -> tuple[int, int, float]:
        return (*recency(Meta.of_entry(item[1])), -float(item[1].get("added_at", 0)))

    return sorted(manifest.articles.items(), key=key)


def status_html(manifest: Manifest) -> str:
    """The sidebar's index summary and its list of articles, newest first (title, date, source, chunks)."""
    s = IndexStatus.of(manifest)
    head = (
        f"<div><b>{s.articles}</b> article{'s' if s.articles != 1 else ''}, <b>{s.chunks}</b> chunks<br>"
        f"Model: {escape(s.model)}<br>Built: {escape(s.built)}</div>"
    )
    items = "".join(
        f'<li>{escape(m["title"])}<br><small title="{escape(m["source"])}">{_dated(m)}{escape(_where(m))}, '
        f"{int(m.get('chunks', 0))} chunks</small></li>"
        for _, m in newest_first(manifest)
    )
    return f'{head}<ul style="margin-top:0.5rem">{items}</ul>'


def titles_html(manifest: Manifest) -> str:
    """The articles the bot knows, newest first, for the welcome block."""
    items = "".join(f"<li>{escape(m['title'])} <small>{_dated(m)}</small></li>" for _, m in newest_first(manifest))
    return f"<ul>{items}</ul>"


def _dated(entry: dict) -> str:
    dated = Meta.of_entry(entry).dated()
    return f"{escape(dated)} · " if dated else ""


def _where(entry: dict) -> str:
    meta = Meta.of_entry(entry)
    return meta.site or Path(entry["source"]).name
