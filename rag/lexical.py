"""BM25 over chunks with German-aware tokens (Snowball stemming), and question-language detection."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)

_STOP = {
    "de": set(
        "der die das den dem des ein eine einer eines einem einen und oder aber auch als am an auf "
        "aus bei bis durch für gegen hat haben hatte ich im in ist mit nach nicht noch nur ob sich "
        "sie sind so über um unter vom von vor war waren wird werden wie wer was wo wann warum "
        "welche welcher welches wieso wieviel viele zu zum zur es er man dass daß sein seine ihr ihre "
        "dies diese dieser dieses laut sagte wurde wurden kann können".split()
    ),
    "en": set(
        "the a an and or but also as at on by for from has have had i in is it its of to with after "
        "not only if they are was were will be been how many much who what which where when why "
        "did do does this that these those there their his her he she we you said according can "
        "could would should".split()
    ),
}
_QUESTION_WORDS = {
    "de": {
        "wie",
        "wer",
        "was",
        "wo",
        "wann",
        "warum",
        "welche",
        "welcher",
        "welches",
        "wieso",
        "wieviele",
        "wieviel",
        "woher",
        "wohin",
        "wem",
        "wen",
        "weshalb",
        "und",
        "der",
        "die",
        "das",
        "ist",
        "sind",
        "hat",
        "nach",
        "mit",
        "von",
        "im",
    },
    "en": {
        "how",
        "who",
        "what",
        "where",
        "when",
        "why",
        "which",
        "whom",
        "whose",
        "and",
        "the",
        "is",
        "are",
        "did",
        "does",
        "do",
        "was",
        "were",
        "of",
        "to",
        "in",
        "many",
        "much",
    },
}


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def detect_language(text: str) -> str:
    """'de' or 'en' by function words and German letters; ties go to English."""
    toks = words(text)
    de = sum(t in _STOP["de"] or t in _QUESTION_WORDS["de"] for t in toks)
    en = sum(t in _STOP["en"] or t in _QUESTION_WORDS["en"] for t in toks)
    de += 2 * len(re.findall(r"[äöüß]", text.lower()))
    return "de" if de > en else "en"


@lru_cache(maxsize=4)
def _stemmer(lang: str):  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("german" if lang == "de" else "english")


def tokens(text: str, lang: str = "de") -> list[str]:
    """Lowercase word stems without stop words; German umlauts folded so 'Schoigu'/'Shoigu' meet more often."""
    toks = [w for w in words(text) if w not in _STOP["de"] and w not in _STOP["en"]]
    stems = _stemmer(lang).stemWords(toks)
    return [_fold(s) for s in stems]


def _fold(word: str) -> str:
    return word.replace("ä", "a").replace("ö", "o").replace("ü", "u").replace("ß", "ss")


class LexicalIndex:
    """Okapi BM25 over a fixed list of texts (rebuilt when the index changes)."""

    def __init__(self, texts: Sequence[str], lang: str = "de") -> None:
        from rank_bm25 import BM25Okapi

        self.lang = lang
        docs = [tokens(t, lang) or ["∅"] for t in texts]
        self._bm25 = BM25Okapi(docs) if docs else None

    def scores(self, query: str) -> np.ndarray:
        if self._bm25 is None:
            return np.zeros(0)
        q = tokens(query, self.lang)
        if not q:
            return np.zeros(self._bm25.corpus_size)
        return np.asarray(self._bm25.get_scores(q), dtype=float)
