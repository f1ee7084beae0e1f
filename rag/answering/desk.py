"""Answers to news-desk requests (``requests.Request``): what an article is about (its lead, the first
sentences a news text opens with), which articles mention a name, the latest on a subject, and when,
by whom and where an article was published (its metadata).

Every quote is verbatim from the article at known offsets; a fact from the metadata is cited to
the metadata line it comes from (``Citation.meta_field``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.answering.requests import COLLECTION, LATEST, METADATA, OVERVIEW, Request
from rag.answering.wording import quote
from rag.articles.chunking import article_sentences
from rag.language.lexical import detect_language
from rag.types import DATED_BY_FILE, Answer, Article, Citation, Meta, Passage

LEAD_SENTENCES = 3  # Lead-3: the standard extractive summary of a news text
LEAD_CHARS = 700  # ... cut shorter when its sentences are long
LIST_MAX = 10  # articles listed with a quote; more are named by count
TOPIC_ARTICLES = 5  # articles a subject search considers when no article names it word for word
TOPIC_MARGIN = 1.0  # ... of which those whose passage scores within this of the best (fused z-scores)


class Desk:
    """Answers requests over one opened index (a ``Retriever``)."""

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever
        self.entries: Mapping[str, Mapping[str, Any]] = retriever.manifest.articles
        self.articles: Mapping[str, Article] = retriever.articles

    def answer(self, question: str, request: Request, allowed: frozenset[str] | None, context: str | None) -> Answer:
        de = detect_language(question) == "de"
        if request.kind == COLLECTION:
            return self._collection(question, request.subject or "", allowed, de)
        if request.kind == LATEST:
            return self._latest(question, request.subject or "", allowed, de)
        aid = self._article_for(request.subject, allowed, context)
        if aid is None:
            text = (
                "Welcher Artikel ist gemeint? Nennen Sie sein Thema („der Artikel über …“) "
                "oder wählen Sie ihn als Bereich."
                if de
                else "Which article do you mean? Name its subject ('the article about …') or choose it as the scope."
            )
            return Answer(question, text, None, True, kind=request.kind, searched=request.subject or "")
        if request.kind == OVERVIEW:
            return self._overview(question, aid, request.subject, de)
        return self._metadata(question, aid, request.field or "date", de)

    # -- finding articles ------------------------------------------------------------------
    def _article_for(self, subject: str | None, allowed: frozenset[str] | None, context: str | None) -> str | None:
        """The article a request means: the best match for its subject, else the article of the
        last answer, else the only article in scope."""
        if subject:
            passages, _ = self.retriever.search(subject, 1, allowed)
            return passages[0].article_id if passages else None
        if context and context in self.entries and (allowed is None or context in allowed):
            return context
        pool = allowed if allowed is not None else frozenset(self.entries)
        return next(iter(pool)) if len(pool) == 1 else None

    def mentions(self, name: str, allowed: frozenset[str] | None) -> dict[str, int]:
        """Articles whose text holds ``name`` as written (at a word start), with the offset of the
        first mention; without any, the same ignoring case."""
        # Every article in scope is read: a word index would miss names glued to a word or inflected.
        pool = allowed if allowed is not None else frozenset(self.entries)
        for flags in (0, re.IGNORECASE):
            pattern = re.compile(rf"(?<!\w){re.escape(name)}", flags)
            found = {}
            for aid in pool:
                m = pattern.search(self.articles[aid].text)
                if m:
                    found[aid] = m.start()
            if found:
                return found
        return {}

    def _newest_first(self, ids: Sequence[str]) -> list[str]:
        """Newest first by publication date; then the articles dated only by their file's time (when a
        file was written says little of when it was published), then undated ones, in the given order."""
        order = {aid: i for i, aid in enumerate(ids)}
        return sorted(ids, key=lambda a: (*recency(Meta.of_entry(self.entries[a])), order[a]))

    # -- answers -----------------------------------------------------------------------------
    def _overview(self, question: str, aid: str, subject: str | None, de: bool) -> Answer:
        art = self.articles[aid]
        start, end = lead(art)
        head = _heading(art)
        cite = _cite(1, art, start, end)
        text = f"{head}: {cite.quote} [1]"
        # the lead is also the passage a language model writes its summary from
        lead_passage = Passage(art.id, art.source, art.title, start, end, cite.quote, 1.0, start, end)
        return Answer(question, text, cite.quote, False, [cite], [lead_passage], subject or "", kind=OVERVIEW)

    def _collection(self, question: str, name: str, allowed: frozenset[str] | None, de: bool) -> Answer:
        found = self.mentions(name, allowed)
        if not found:
            return self._closest(question, name, allowed, de)
        ids = self._newest_first(sorted(found, key=lambda a: (found[a], a)))
        citations, lines = [], []
        for n, aid in enumerate(ids[:LIST_MAX], 1):
            art = self.articles[aid]
            s, e = _sentence_at(art, found[aid])
            citations.append(_cite(n, art, s, e))
            lines.append(f"{n}. {_heading(art)}: „{citations[-1].quote}“ [{n}]")
        more = len(ids) - LIST_MAX
        count = len(ids)
        if de:
            head = f"{count} Artikel erwähn{'t' if count == 1 else 'en'} „{name}“ (neueste zuerst):"
            tail = f"\n… und {more} weitere." if more > 0 else ""
        else:
            verb = "mentions" if count == 1 else "mention"
            head = f"{count} article{'s' if count != 1 else ''} {verb} “{name}” (newest first):"
            tail = f"\n… and {more} more." if more > 0 else ""
        text = head + "\n" + "\n".join(lines) + tail
        return Answer(question, text, None, False, citations, [], name, kind=COLLECTION)

    def _closest(self, question: str, name: str, allowed: frozenset[str] | None, de: bool) -> Answer:
        """No article holds the name word for word: say so, and list the closest articles by topic."""
        passages, _ = self.retriever.search(name, TOPIC_ARTICLES, allowed)
        seen, citations, lines = set(), [], []
        for p in passages:
            if p.article_id in seen:
                continue
            seen.add(p.article_id)
            art = self.articles[p.article_id]
            s, e = _sentence_at(art, p.chunk_start if p.chunk_end else p.start)
            citations.append(_cite(len(citations) + 1, art, s, e))
            lines.append(f"{len(citations)}. {_heading(art)}: „{citations[-1].quote}“ [{len(citations)}]")
        if de:
            head = f"Kein Artikel nennt „{name}“ wörtlich."
            head += " Am nächsten kommen:" if lines else ""
        else:
            head = f"No article mentions “{name}” word for word."
            head += " The closest by topic:" if lines else ""
        return Answer(question, "\n".join([head, *lines]), None, not lines, citations, [], name, kind=COLLECTION)

    def _latest(self, question: str, subject: str, allowed: frozenset[str] | None, de: bool) -> Answer:
        found = self.mentions(subject, allowed)
        if found:
            ids = sorted(found, key=lambda a: (found[a], a))
        else:  # the articles whose best passage is close to the best match for the subject
            passages, _ = self.retriever.search(subject, TOPIC_ARTICLES, allowed)
            close = [p for p in passages if passages[0].score - p.score <= TOPIC_MARGIN]
            ids = list(dict.fromkeys(p.article_id for p in close))
        if not ids:
            text = (
                f"Die Artikel sagen nichts über „{subject}“." if de else f"The articles say nothing about “{subject}”."
            )
            return Answer(question, text, None, True, [], [], subject, kind=LATEST)
        aid = self._newest_first(ids)[0]
        art = self.articles[aid]
        start, end = lead(art)
        citations = [_cite(1, art, start, end)]
        if aid in found and found[aid] >= end:  # the lead does not name the subject: its first mention too
            s, e = _sentence_at(art, found[aid])
            citations.append(_cite(2, art, s, e))
        meta = Meta.of_entry(self.entries[aid])
        when = meta.dated() or ("ohne Datum" if de else "undated")
        if de:
            head = f"Der neueste Artikel zu „{subject}“ ist {_heading(art, False)} ({when})"
        else:
            head = f"The newest article on “{subject}” is {_heading(art, False)} ({when})"
        if meta.dated_by == DATED_BY_FILE:
            head += "; nach Dateizeit, kein Veröffentlichungsdatum" if de else "; by file time, not a publication date"
        body = " ".join(f"{c.quote} [{c.n}]" for c in citations)
        return Answer(question, f"{head}: {body}", None, False, citations, [], subject, kind=LATEST)

    def _metadata(self, question: str, aid: str, field: str, de: bool) -> Answer:
        art = self.articles[aid]
        meta = Meta.of_entry(self.entries[aid])
        title = f"„{art.title}“" if de else f"“{art.title}”"
        line, text = None, ""
        if field == "date":
            if meta.date and meta.dated_by != DATED_BY_FILE:
                line = f"date: {meta.date} ({meta.dated_by})"
                text = f"{title} erschien am {meta.date}." if de else f"{title} was published on {meta.date}."
            elif meta.date:
                line = f"file time: {meta.date}"
                text = (
                    f"{title} trägt kein Veröffentlichungsdatum; seine Datei ist vom {meta.date}."
                    if de
                    else f"{title} carries no publication date; its file is dated {meta.date}."
                )
        elif field == "author" and meta.author:
            line = f"author: {meta.author}"
            text = f"{title} ist von {meta.author}." if de else f"{title} was written by {meta.author}."
        elif field == "site" and (meta.site or meta.url):
            where = meta.site or meta.url or ""
            line = f"site: {where}" + (f" ({meta.url})" if meta.url and meta.url != where else "")
            text = f"{title} erschien bei {where}." if de else f"{title} was published by {where}."
        if line is None:
            missing = {
                "date": ("kein Datum", "date"),
                "author": ("keinen Autor", "author"),
                "site": ("keine Quelle", "site"),
            }
            origin = art.source if "://" in art.source else Path(art.source).name  # a file by its name
            line = f"source: {origin}"
            text = (
                f"{title} nennt {missing[field][0]}; bekannt ist nur die Herkunft {origin}."
                if de
                else f"{title} names no {missing[field][1]}; all that is known is where it was read from: {origin}."
            )
            field = "source"
        cite = Citation(1, aid, art.source, art.title, 0, 0, line, 1.0, meta.dated(), field)
        return Answer(question, f"{text} [1]", text, False, [cite], [], "", kind=METADATA)


def lead(article: Article) -> tuple[int, int]:
    """The offsets of an article's lead: its first sentences, up to LEAD_SENTENCES and LEAD_CHARS
    (at least one sentence)."""
    text = article.text
    begin = 0
    heading, newline, _ = text.partition("\n")
    if newline and heading.strip() == article.title.strip():  # a heading line repeating the title
        begin = len(heading) + 1
        begin += len(text[begin:]) - len(text[begin:].lstrip())
    spans = [s for s in article_sentences(text) if s.end > begin]
    if not spans:
        return 0, len(text)
    start, end = max(spans[0].start, begin), spans[0].end
    for span in spans[1:LEAD_SENTENCES]:
        if span.end - start > LEAD_CHARS:
            break
        end = span.end
    return start, end


def _sentence_at(article: Article, offset: int) -> tuple[int, int]:
    for span in article_sentences(article.text):
        if span.start <= offset < span.end:
            return span.start, span.end
    return offset, min(len(article.text), offset + 200)


def _cite(n: int, article: Article, start: int, end: int) -> Citation:
    return Citation(
        n, article.id, article.source, article.title, start, end, quote(article, start, end), 1.0, article.meta.dated()
    )


def _heading(article: Article, with_date: bool = True) -> str:
    dated = article.meta.dated() if with_date else ""
    return f"“{article.title}”" + (f" ({dated})" if dated else "")


def recency(meta: Meta) -> tuple[int, int]:
    """A sort key, newest first: published dates, then file times, then no date."""
    if not meta.date:
        return (2, 0)
    y, m, d = (int(x) for x in meta.date.split("-"))
    return (1 if meta.dated_by == DATED_BY_FILE else 0, -(y * 10000 + m * 100 + d))
