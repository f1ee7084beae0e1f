"""English words rendered into German word stems with the Ding dictionary (Debian package trans-de-en).

An English question shares few words with a German article, so BM25 over the article's stems finds
little in it but names and numbers. Rendered word by word into German (each content word's most
frequent German renderings, weighted by how often the dictionary pairs them), it searches the same
stems a German question would.

The dictionary is read from the system at run time (it is GPL-2+, not shipped with the project).
Nothing happens at import: the file is parsed on first use (about 5 s for its 206k lines) and the
derived table is kept under the settings' cache folder, keyed by the file's size and modification
time, so later starts read only that (about 0.3 s). Without the file, English questions search the
German words as they are, with one warning saying so.

A line of the file is ``German ... :: English ...``; both sides are split into the same number of
sub-entries by `` | `` (a headword, its plural or forms, phrases with it), each sub-entry into
synonyms by ``;``, with notes in ``{m}``, ``{pl}``, ``[coll.]``, ``(...)`` and ``<...>``.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rag.language.lexical import _QUESTION_WORDS, _STOP, LEXICAL_VERSION, tokens, words
from rag.language.resources import Once, derived_from_lines

log = logging.getLogger(__name__)

DEFAULT_PATH = Path("/usr/share/trans/de-en")
RENDERINGS = 3  # German renderings kept per English word, the most frequent first
GLOSS = "~"  # marks a gloss line of the derived table
TABLE_VERSION = "d5"  # bump when the derived table changes shape or content
# English phrases of up to this many content words are rendered as one ('head coach' -> 'Cheftrainer'):
# German writes as one compound what English writes as two words.
PHRASE_WORDS = 2
# notes: {f}, [pol.], (ugs.), <...>, and abbreviations after a word: '/Ztg./', '/Gov.; Govt./'
_NOTES = re.compile(r"\{[^}|]*\}|\[[^\]|]*\]|\([^)|]*\)|<[^>|]*>|(?<!\S)/[^/|]+/(?=[\s;]|$)")
_SPACE = re.compile(r"\s+")
_ENGLISH_WORD = re.compile(r"[a-z]+")
# English endings tried off a word the dictionary lacks, with what replaces them ('armies' -> 'army').
_ENDINGS = (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"))
_LOOKUP_SKIP = _STOP["en"] | _QUESTION_WORDS["en"]
# What searching German articles with an English question loses without the dictionary, measured on
# XQuAD-dev (docs/quality.md): the share of English questions whose first passage holds the answer.
WITHOUT_COST = (
    "XQuAD-dev's English questions find the passage holding the answer first in 90.5% of cases instead of 91.9%"
)


def sub_entries(line: str) -> list[tuple[list[str], list[str]]]:
    """The (German synonyms, English synonyms) of each sub-entry of one dictionary line, paired in
    order across ``::``, notes removed."""
    if line.startswith("#") or " :: " not in line:
        return []
    german, english = (_NOTES.sub(" ", side) for side in line.split(" :: ", 1))  # '{died; died}' holds a ';'
    de_subs, en_subs = german.split(" | "), english.split(" | ")
    if len(de_subs) != len(en_subs):  # not aligned (none in the 2023 file): the headwords only
        de_subs, en_subs = de_subs[:1], en_subs[:1]
    return [
        (
            [s for s in (_SPACE.sub(" ", x).strip() for x in de.split(";")) if s],
            [_SPACE.sub(" ", x).strip() for x in en.split(";")],
        )
        for de, en in zip(de_subs, en_subs, strict=True)
    ]


def entry_pairs(line: str) -> list[tuple[tuple[str, ...], str, float]]:
    """The (English content words, German synonym, share) triples of one dictionary line: every
    English synonym of a sub-entry with every German one (share: 1 / the sub-entry's German
    synonyms). English stop words and pronouns are not content ('to die', 'he/she dies' -> ('die',), ('dies',))."""
    return _entry_pairs(sub_entries(line))


def _entry_pairs(subs: list[tuple[list[str], list[str]]]) -> list[tuple[tuple[str, ...], str, float]]:
    out = []
    for de_syns, en_raw in subs:
        en_syns = [ws for ws in (_content(x) for x in en_raw) if ws]
        out.extend((en, de, 1 / len(de_syns)) for en in en_syns for de in de_syns)
    return out


def _gloss_pairs(subs: list[tuple[list[str], list[str]]]) -> list[tuple[str, str, bool, float]]:
    """(German word, an English gloss, whether the word leads its sub-entry, share) for the one-word
    German synonyms of a line's sub-entries: each English synonym of the sub-entry is a gloss
    ('Soldaten' -> 'soldiers'), the share 1 / the sub-entry's German synonyms."""
    out = []
    for de_syns, en_raw in subs:
        glosses = [g for g in (e.removeprefix("to ") for e in en_raw) if g and "/" not in g]
        for i, de in enumerate(de_syns):
            if " " not in de and de.isalpha():
                out.extend((de, g, i == 0, 1 / len(de_syns)) for g in glosses)
    return out


def _content(text: str) -> tuple[str, ...]:
    return tuple(w for w in words(text) if w not in _STOP["en"])


@dataclass(frozen=True)
class Dictionary:
    """English word -> its German renderings, the most frequent first, as the text
    ``stem<SPACE>count<TAB>stem<SPACE>count...`` (stems of ``tokens(..., 'de')``; count: how often the
    pair occurs); a two-word English phrase is a key too ('head coach' -> 'cheftrain'). Kept as text
    and read on lookup: 45 MB for the 278k words and phrases (17 MB for the 96k words alone)."""

    table: Mapping[str, str]
    glosses: Mapping[str, str] = field(default_factory=dict)  # German word as written -> an English gloss

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> Dictionary:
        """Count how often each (English word, German stem) pair occurs, each sub-entry's one vote
        shared among its German synonyms (the plain word of a sub-entry with many synonyms is less
        sure); keep the most frequent renderings of every word. A capitalised German word's gloss is
        the one ``_best_gloss`` picks of those offered for it."""
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        offered: dict[str, Counter[tuple[str, bool]]] = defaultdict(Counter)
        used: Counter[str] = Counter()  # how often an English word occurs in the entries, phrases included
        for line in lines:
            subs = sub_entries(line)
            if not subs:
                continue
            used.update(_ENGLISH_WORD.findall(line.split(" :: ", 1)[1].lower()))
            for de, gloss, leads, share in _gloss_pairs(subs):
                if de[:1].isupper():
                    offered[de][(gloss, leads)] += share
            stems_of: dict[str, list[str]] = {}
            for en, de, share in _entry_pairs(subs):
                if len(en) > PHRASE_WORDS:
                    continue
                stems = stems_of[de] if de in stems_of else stems_of.setdefault(de, tokens(de, "de"))
                if len(stems) == 1:
                    counts[" ".join(en)][stems[0]] += share
        made = cls(
            {w: "\t".join(f"{stem} {n:.3g}" for stem, n in c.most_common(RENDERINGS)) for w, c in counts.items()}
        )
        # how common an English word is: its own entries times its occurrences in all entries
        common = {w: sum(c.values()) * used[w] for w, c in counts.items() if " " not in w}
        glosses = {de: made._best_gloss(de, c, common) for de, c in offered.items()}
        return cls(made.table, {de: g for de, g in glosses.items() if g is not None})

    def _best_gloss(self, german: str, offered: Counter[tuple[str, bool]], common: Mapping[str, float]) -> str | None:
        """Of the glosses offered for a German noun, those that lead back to it, the most common
        English word first ('Truppen' -> 'troops', not 'troups'; 'Stunden' -> 'hours', not 'lessons'):
        a word whose own main German renderings include the noun, or a phrase of a compound the noun
        leads whose last word renders the compound's last part ('Rückenbeschwerden' -> 'back
        complaints'). None when none leads back ('Regierung' offered only 'regimen': a wrong gloss
        misleads more than none)."""
        stem = "".join(tokens(german, "de"))

        def back(gloss: str, leads: bool) -> bool:
            words = gloss.lower().split(" ")
            if len(words) == 1:
                return any(s == stem and n >= 0.5 for s, n in self.renderings(words[0]))
            head = [s for s, n in self.renderings(words[-1]) if n >= 0.5]
            return leads and len(words) <= 3 and any(len(s) >= 4 and s != stem and stem.endswith(s) for s in head)

        def rank(item: tuple[tuple[str, bool], float]) -> tuple[bool, float, bool, float]:
            (gloss, leads), share = item
            return " " not in gloss, common.get(gloss.lower(), 0.0), leads, share

        # the best-ranked gloss that leads back (most first ones do: looked up in rank order)
        return next((g for (g, leads), _ in sorted(offered.items(), key=rank, reverse=True) if back(g, leads)), None)

    def gloss(self, word: str) -> str | None:
        """An English gloss of a German word as written ('Soldaten' -> 'soldiers'), if the dictionary has one."""
        return self.glosses.get(word)

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
        """Write the table as lines ``word<TAB>renderings``, then the glosses as ``~word<TAB>gloss`` (atomically)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        lines = [f"{w}\t{found}\n" for w, found in sorted(self.table.items())]
        lines += [f"{GLOSS}{w}\t{g}\n" for w, g in sorted(self.glosses.items())]
        tmp.write_text("".join(lines), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def read_table(cls, path: Path) -> Dictionary:
        table, glosses = {}, {}
        for line in path.read_text(encoding="utf-8").splitlines():
            word, tab, found = line.partition("\t")
            if word.startswith(GLOSS) and tab and found:
                glosses[word[1:]] = found
                continue
            if not tab or " " not in found:
                raise ValueError(f"not a dictionary table line: {line[:60]!r}")
            table[word] = found
        return cls(table, glosses)


def german_terms(question: str, dictionary: Dictionary) -> dict[str, float]:
    """BM25 query terms for an English question over German articles: each content word's German
    renderings weighted by their confidence; numbers and words the dictionary lacks (names, terms)
    kept as they are; a name it knows (capitalised, not first) both kept and rendered
    ('Warsaw' -> warsaw, warschau). English stop words and question words are dropped."""
    terms: dict[str, float] = defaultdict(float)
    for stem, confidence in phrase_renderings(question, dictionary):
        terms[stem] += confidence
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


def _content_words(question: str) -> list[str]:
    """The question's words the dictionary is asked for, as written: no stop or question words, no
    single letters ('prosecutor's' gives 'prosecutor'), no numbers."""
    return [
        w
        for w in re.findall(r"\w+", question)
        if w.lower() not in _LOOKUP_SKIP and len(w) > 1 and not any(c.isdigit() for c in w)
    ]


def phrase_renderings(question: str, dictionary: Dictionary) -> list[tuple[str, float]]:
    """German stems of the dictionary's two-word phrases among the question's adjacent content words
    ('Who is the head coach of ...' -> 'cheftrain'; 'managing director' -> 'geschaftsfuhr'), with
    their confidence each. Two content words stand adjacent when only stop words lie between them, as
    the dictionary's own phrases are read ('office of the prosecutor' is ('office', 'prosecutor'))."""
    found = _content_words(question)
    out: list[tuple[str, float]] = []
    for a, b in zip(found, found[1:], strict=False):
        out.extend(dictionary.renderings(f"{a.lower()} {b.lower()}"))
    return out


def word_renderings(question: str, dictionary: Dictionary) -> dict[str, frozenset[str]]:
    """Per stem of an English question's content words (as ``tokens`` gives it in either
    language's stemming), the German stems the dictionary renders the word by; the words of a
    phrase the dictionary renders as one ('head coach') also by the phrase's renderings."""
    out: dict[str, frozenset[str]] = {}

    def add(word: str, stems: frozenset[str]) -> None:
        for stem in {*tokens(word, "en"), *tokens(word, "de")}:
            out[stem] = out.get(stem, frozenset()) | stems

    content = _content_words(question)
    for a, b in zip(content, content[1:], strict=False):
        whole = frozenset(stem for stem, _ in dictionary.renderings(f"{a.lower()} {b.lower()}"))
        if whole:
            add(a, whole)
            add(b, whole)
    for word in content:
        found = frozenset(stem for stem, _ in dictionary.renderings(word.lower()))
        if found:
            add(word, found)
    return out


def open_dictionary(path: Path, cache_dir: Path | None) -> Dictionary | None:
    """The dictionary at ``path`` through its derived table in ``cache_dir`` (made when missing); None
    with a warning when the file is missing."""
    if not path.exists():
        log.warning(
            "The German-English dictionary %s is missing; install it with: apt-get install trans-de-en "
            "(or set RAG_DICTIONARY to its file). Without it English questions search German articles "
            "by their own words only: %s.",
            path,
            WITHOUT_COST,
        )
        return None

    try:
        return derived_from_lines(path, cache_dir, "ding", f"{TABLE_VERSION}-{LEXICAL_VERSION}", Dictionary)
    except OSError as exc:
        log.warning(
            "Cannot read the German-English dictionary %s (%s); English questions search "
            "German articles by their own words only: %s.",
            path,
            exc,
            WITHOUT_COST,
        )
        return None


_once = Once(open_dictionary, "dictionary")
load = _once.load  # the dictionary at a path (None when unset or missing: one warning per path and process)
preload = _once.preload  # start reading it in the background
