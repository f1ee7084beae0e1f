"""German synonyms from OpenThesaurus (Debian package openthesaurus-de-text, LGPL-2.1).

A question that says "Chefdiplomat" where the article says "Außenminister" shares no word with
it; the thesaurus puts both in one synonym set. Only one-word terms are kept (as word stems of
``tokens(..., 'de')``), and only from sets of at most ``MAX_SET`` terms: the large sets hold loose
associations ("machen" has 40) that would match almost anything.

Read from the system at run time (not shipped); parsed on first use and kept as a derived table in
the settings' cache folder, keyed by the file's size and modification time.
Without the file a German question matches sentences by its own words only, with one warning.
"""

from __future__ import annotations

import logging
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rag.language.lexical import LEXICAL_VERSION, tokens
from rag.language.resources import Once, derived_from_lines

log = logging.getLogger(__name__)

DEFAULT_PATH = Path("/usr/share/openthesaurus-de/openthesaurus.txt")
MAX_SET = 8  # synonym sets with more terms are skipped
TABLE_VERSION = "t2"  # bump when the derived table changes shape or content
_NOTE = re.compile(r"\([^)]*\)")


@dataclass(frozen=True)
class Thesaurus:
    """German word stem -> the stems of its one-word synonyms, as the text ``stem stem ...`` (read
    on lookup: the table loads in a fraction of the time it takes as sets)."""

    table: Mapping[str, str]

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> Thesaurus:
        found: dict[str, set[str]] = defaultdict(set)
        for line in lines:
            if line.startswith("#"):
                continue
            terms = [_NOTE.sub(" ", t).strip() for t in line.strip().split(";")]
            if len(terms) > MAX_SET:
                continue
            stems = {s[0] for t in terms if t and " " not in t and len(s := tokens(t, "de")) == 1}
            for stem in stems:
                found[stem].update(stems - {stem})
        return cls({k: " ".join(sorted(v)) for k, v in found.items() if v})

    def synonyms(self, stem: str) -> frozenset[str]:
        found = self.table.get(stem)
        return frozenset(found.split(" ")) if found else frozenset()

    def write_table(self, path: Path) -> None:
        """Write the table as lines ``stem<TAB>synonym synonym ...`` (atomically)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text("".join(f"{k}\t{v}\n" for k, v in sorted(self.table.items())), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def read_table(cls, path: Path) -> Thesaurus:
        table = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            stem, tab, found = line.partition("\t")
            if not tab or not found:
                raise ValueError(f"not a thesaurus table line: {line[:60]!r}")
            table[stem] = found
        return cls(table)


def open_thesaurus(path: Path, cache_dir: Path | None = None) -> Thesaurus | None:
    """The thesaurus at ``path`` through its derived table in ``cache_dir`` (made when missing:
    stemming the file takes about 2 s, reading the table 0.1 s); None with a warning when the file
    cannot be read."""

    try:
        return derived_from_lines(path, cache_dir, "thesaurus", f"{TABLE_VERSION}-{LEXICAL_VERSION}", Thesaurus)
    except OSError as exc:
        log.warning(
            "The German thesaurus %s cannot be read (%s); install it with: apt-get install openthesaurus-de-text "
            "(or set RAG_THESAURUS to its file). Without it German questions match sentences by their own "
            "words only, not by synonyms.",
            path,
            exc.strerror or exc,
        )
        return None


_once = Once(open_thesaurus, "thesaurus")
load = _once.load  # the thesaurus at a path (None when unset or missing: one warning per path and process)
preload = _once.preload
