"""English words rendered into German word stems with the Ding dictionary (Debian package trans-de-en).

An English question shares few words with a German article, so BM25 over the article's stems finds
little in it but names and numbers. Rendered word by word into German (each content word's most
frequent German renderings, weighted by how often the dictionary pairs them), it searches the same
stems a German question would.

The dictionary is read from the system at run time (it is GPL-2+, not shipped with the project).
Nothing happens at import: the file is parsed on first use (about 5 s for its 206k lines) and the
derived table is kept under the settings' cache folder, keyed by the file's size and modification
time, so later starts read only that (0.07 s). Without the file, English questions search the
German words as they are, with one warning saying so.

A line of the file is ``German ... :: English ...``; both sides are split into the same number of
sub-entries by `` | `` (a headword, its plural or forms, phrases with it), each sub-entry into
synonyms by ``;``, with notes in ``{m}``, ``{pl}``, ``[coll.]``, ``(...)`` and ``<...>``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rag.language.lexical import _QUESTION_WORDS, _STOP, LEXICAL_VERSION, tokens, words

log = logging.getLogger(__name__)

DEFAULT_PATH = Path("/usr/share/trans/de-en")
RENDERINGS = 3  # German renderings kept per English word, the most frequent first
TABLE_VERSION = "d2"  # bump when the derived table changes shape or content
_NOTES = re.compile(r"\{[^}|]*\}|\[[^\]|]*\]|\([^)|]*\)|<[^>|]*>|(?<!\S)/[^/\s]+/(?!\S)")
_SPACE = re.compile(r"\s+")
# English endings tried off a word the dictionary lacks, with what replaces them ('armies' -> 'army').
_ENDINGS = (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"))
_LOOKUP_SKIP = _STOP["en"] | _QUESTION_WORDS["en"]
# What searching German articles with an English question loses without the dictionary, measured on
# XQuAD-dev (docs/quality.md): the share of English questions whose first passage holds the answer.
WITHOUT_COST = (
    "XQuAD-dev's English questions find the passage holding the answer first in 90.5% of cases instead of 91.9%"
)


def entry_pairs(line: str) -> list[tuple[tuple[str, ...], str, float]]:
    """The (English content words, German synonym, share) triples of one dictionary line: sub-entries
    paired in order across ``::``, every English synonym of a sub-entry with every German one (share:
    1 / the sub-entry's German synonyms), notes removed. English stop words and pronouns are not
    content ('to die', 'he/she dies' -> ('die',), ('dies',))."""
    if line.startswith("#") or " :: " not in line:
        return []
    german, english = (_NOTES.sub(" ", side) for side in line.split(" :: ", 1))  # '{died; died}' holds a ';'
    de_subs, en_subs = german.split(" | "), english.split(" | ")
    if len(de_subs) != len(en_subs):  # not aligned (none in the 2023 file): the headwords only
        de_subs, en_subs = de_subs[:1], en_subs[:1]
    out = []
    for de_sub, en_sub in zip(de_subs, en_subs, strict=True):
        de_syns = [s for s in (_SPACE.sub(" ", x).strip() for x in de_sub.split(";")) if s]
        en_syns = [ws for ws in (_content(x) for x in en_sub.split(";")) if ws]
        out.extend((en, de, 1 / len(de_syns)) for en in en_syns for de in de_syns)
    return out


def _content(text: str) -> tuple[str, ...]:
    return tuple(w for w in words(text) if w not in _STOP["en"])


@dataclass(frozen=True)
class Dictionary:
    """English word -> its German renderings, the most frequent first, as the text
    ``stem<SPACE>count<TAB>stem<SPACE>count...`` (stems of ``tokens(..., 'de')``; count: how often the
    pair occurs). Kept as text and read on lookup: 17 MB for the 96k words instead of 40 as tuples."""

    table: Mapping[str, str]

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> Dictionary:
        """Count how often each (English word, German stem) pair occurs, each sub-entry's one vote
        shared among its German synonyms (the plain word of a sub-entry with many synonyms is less
        sure); keep the most frequent renderings of every word."""
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for line in lines:
            for en, de, share in entry_pairs(line):
                if len(en) != 1:
                    continue
                stems = tokens(de, "de")
                if len(stems) == 1:
                    counts[en[0]][stems[0]] += share
        return cls(
            {w: "\t".join(f"{stem} {n:.3g}" for stem, n in c.most_common(RENDERINGS)) for w, c in counts.items()}
        )

    def renderings(self, word: str) -> list[tuple[str, float]]:
        """German stems for a lowercase English word, the most frequent first, with a confidence each:
        how often the pair occurs against the most frequent one (1.0 for that one); a plural or
        inflected form the dictionary lacks is looked up without its ending."""
        found = self.table.get(word)
        if found is None:
            for suffix, repl in _ENDINGS:
                if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                    found = self.table.get(word[: -len(suffix)] + repl)
                    if found is not None:
                        break
        if not found:
            return []
        pairs = [(stem, float(n)) for stem, n in (f.split(" ") for f in found.split("\t"))]
        return [(stem, n / pairs[0][1]) for stem, n in pairs]

    # -- the derived table on disk ------------------------------------------------------------
    def write_table(self, path: Path) -> None:
        """Write the table as lines ``word<TAB>renderings`` (atomically)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text("".join(f"{w}\t{found}\n" for w, found in sorted(self.table.items())), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def read_table(cls, path: Path) -> Dictionary:
        table = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            word, tab, found = line.partition("\t")
            if not tab or " " not in found:
                raise ValueError(f"not a dictionary table line: {line[:60]!r}")
            table[word] = found
        return cls(table)


def german_terms(question: str, dictionary: Dictionary) -> dict[str, float]:
    """BM25 query terms for an English question over German articles: each content word's German
    renderings weighted by their confidence; numbers and words the dictionary lacks (names, terms)
    kept as they are; a name it knows (capitalised, not first) both kept and rendered
    ('Warsaw' -> warsaw, warschau). English stop words and question words are dropped."""
    terms: dict[str, float] = defaultdict(float)
    for i, word in enumerate(re.findall(r"\w+", question)):
        low = word.lower()
        if low in _LOOKUP_SKIP or (len(low) < 2 and not low.isdigit()):
            continue
        found = [] if any(c.isdigit() for c in word) else dictionary.renderings(low)
        if not found or (i > 0 and word[0].isupper()):
            for stem in tokens(word, "de"):
                terms[stem] += 1.0
        for stem, confidence in found:
            terms[stem] += confidence
    return dict(terms)


# -- loading once per process -------------------------------------------------------------------
_loaded: dict[Path, Dictionary | None] = {}
_started: set[Path] = set()
_lock = threading.Lock()


def load(path: Path | None, cache_dir: Path | None) -> Dictionary | None:
    """The dictionary at ``path`` (None when unset or missing: one warning per path and process)."""
    if path is None:
        return None
    path = path.expanduser()
    with _lock:
        if path not in _loaded:
            _loaded[path] = open_dictionary(path, cache_dir)
        return _loaded[path]


def preload(path: Path | None, cache_dir: Path | None) -> None:
    """Start reading the dictionary in the background, unless it was read (or is being read)."""
    if path is None:
        return
    path = path.expanduser()
    with _lock:
        if path in _started:
            return
        _started.add(path)
    threading.Thread(target=load, args=(path, cache_dir), name="rag-load-dictionary", daemon=True).start()


def open_dictionary(path: Path, cache_dir: Path | None) -> Dictionary | None:
    """The dictionary at ``path`` through its derived table in ``cache_dir`` (made when missing); None
    with a warning when the file is missing."""
    try:
        stat = path.stat()
    except OSError:
        log.warning(
            "The German-English dictionary %s is missing; install it with: apt-get install trans-de-en "
            "(or set RAG_DICTIONARY to its file). Without it English questions search German articles "
            "by their own words only: %s.",
            path,
            WITHOUT_COST,
        )
        return None
    cached = None
    if cache_dir is not None:
        key = f"{stat.st_size}-{stat.st_mtime_ns}-{TABLE_VERSION}-{LEXICAL_VERSION}"
        cached = cache_dir.expanduser() / f"ding-{key}.tsv"
        try:
            return Dictionary.read_table(cached)
        except (OSError, ValueError):
            pass  # not made yet (or damaged): made again below
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            dictionary = Dictionary.from_lines(lines)
    except OSError as exc:
        log.warning(
            "Cannot read the German-English dictionary %s (%s); English questions search "
            "German articles by their own words only: %s.",
            path,
            exc,
            WITHOUT_COST,
        )
        return None
    if cached is not None:
        try:
            dictionary.write_table(cached)
        except OSError as exc:  # a read-only cache: parsed again next start
            log.debug("could not keep the dictionary table in %s: %s", cached, exc)
    return dictionary
