"""Which articles a question may be answered from: one article named by the user, a date range, or all."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rag.articles.metadata import parse_date
from rag.errors import InputError
from rag.types import Meta, Scope


def resolve(scope: Scope | None, entries: Mapping[str, Mapping[str, Any]]) -> frozenset[str] | None:
    """The ids of the articles in ``scope`` (None: all of them), or an ``InputError`` saying why none is."""
    if scope is None or scope.everything:
        return None
    ids = set(entries)
    if scope.article:
        ids = {find_article(scope.article, entries)}
    if scope.since or scope.until:
        since, until = _day(scope.since, "since"), _day(scope.until, "until")
        if since and until and since > until:
            raise InputError(f"The date range {since} to {until} ends before it starts; swap the two dates.")
        dated = {aid: Meta.of_entry(entries[aid]).date for aid in ids}
        ids = {aid for aid, day in dated.items() if day and (not since or day >= since) and (not until or day <= until)}
        if not ids:
            raise InputError(f"No indexed article is dated {_range(since, until)}; {_span(entries)}.")
    return frozenset(ids)


def find_article(name: str, entries: Mapping[str, Mapping[str, Any]]) -> str:
    """The id of the article ``name`` means: its id, source, file name, or words of its title."""
    wanted = name.strip()
    low = wanted.lower()
    for aid, m in entries.items():
        source = str(m["source"])
        if wanted in (aid, source) or low in (Path(source).name.lower(), Path(source).stem.lower()):
            return aid
    titled = [aid for aid, m in entries.items() if low and low in str(m["title"]).lower()]
    if len(titled) == 1:
        return titled[0]
    if titled:
        shown = "; ".join(str(entries[a]["title"]) for a in titled[:3])
        raise InputError(
            f"{wanted!r} matches {len(titled)} article titles ({shown} …); give more of the title or its file name."
        )
    raise InputError(f"No indexed article matches {wanted!r}; python -m rag status lists them by title and file.")


def _day(value: str | None, which: str) -> str | None:
    if not value:
        return None
    day = parse_date(value)
    if day is None:
        raise InputError(f"The {which} date {value!r} is not a date; write it as YYYY-MM-DD.")
    return day


def _range(since: str | None, until: str | None) -> str:
    if since and until:
        return f"from {since} to {until}"
    return f"on or after {since}" if since else f"on or before {until}"


def _span(entries: Mapping[str, Mapping[str, Any]]) -> str:
    days = sorted(d for m in entries.values() if (d := Meta.of_entry(m).date))
    if not days:
        return "no article carries a date"
    return f"the articles are dated from {days[0]} to {days[-1]}"
