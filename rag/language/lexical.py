"""BM25 over chunks with German-aware tokens (Snowball stemming), and question-language detection.

The index is a sparse term-by-chunk matrix of precomputed Okapi BM25 weights (compressed by term):
a query reads only the postings of its own terms, so its cost grows with how often those terms
occur, not with the number of chunks. An index's term ids are stored with it (rag.lexicon), so
opening it tokenizes only articles the stored ones do not cover.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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


# Okapi BM25 parameters, as rank_bm25's BM25Okapi (the scorer this replaces) uses them.
K1 = 1.5
B = 0.75
EPSILON = 0.25  # a term in more than half of the chunks gets idf EPSILON * mean idf instead of a negative one
EMPTY = "\u2205"  # the one token of a chunk without words, so every chunk has a length
LEXICAL_VERSION = "t1"  # bump when tokens() changes: stored term ids are then made again


class LexicalIndex:
    """Okapi BM25 over a fixed list of texts (rebuilt when the index changes); scores equal rank_bm25's
    ``BM25Okapi(...).get_scores`` on the same tokens."""

    def __init__(self, texts: Sequence[str], lang: str = "de") -> None:
        vocab: dict[str, int] = {}
        docs = []
        for text in texts:
            toks = tokens(text, lang) or [EMPTY]
            docs.append(np.fromiter((vocab.setdefault(t, len(vocab)) for t in toks), np.int32, len(toks)))
        self._build(docs, vocab, lang)

    @classmethod
    def from_terms(cls, docs: Sequence[np.ndarray], vocab: dict[str, int], lang: str) -> LexicalIndex:
        """From term ids already made (see rag.lexicon): one int array per text, ids into ``vocab``."""
        index = cls.__new__(cls)
        index._build(docs, vocab, lang)
        return index

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], vocab: dict[str, int], lang: str) -> LexicalIndex:
        """From the arrays of ``arrays()`` (stored next to the index), with the vocabulary they use."""
        index = cls.__new__(cls)
        index.lang, index._vocab, index.size = lang, vocab, int(arrays["size"])
        index._indptr, index._rows = arrays["indptr"], arrays["rows"]
        index._weights, index._idf = arrays["weights"], arrays["idf"]
        return index

    def arrays(self) -> dict[str, np.ndarray]:
        """The postings with their BM25 weights and the idf of every term: all that scoring reads."""
        return {
            "size": np.array(self.size),
            "indptr": self._indptr,
            "rows": self._rows,
            "weights": self._weights,
            "idf": self._idf,
        }

    def _build(self, docs: Sequence[np.ndarray], vocab: dict[str, int], lang: str) -> None:
        self.lang = lang
        self.size = n = len(docs)
        self._vocab = vocab
        vocab_size = len(vocab)
        if n == 0:
            self._indptr = np.zeros(vocab_size + 1, dtype=np.int64)
            self._rows = np.zeros(0, dtype=np.int32)
            self._weights = np.zeros(0)
            self._idf = np.zeros(vocab_size)
            return
        lengths = np.fromiter((len(d) for d in docs), np.int64, n)
        terms = np.concatenate(docs).astype(np.int64)
        rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
        # One entry per (term, chunk) pair, sorted by term, then chunk: the postings lists.
        pairs, tf = np.unique(terms * n + rows, return_counts=True)
        term_of, row_of = np.divmod(pairs, n)
        df = np.bincount(term_of, minlength=vocab_size)
        present = df > 0
        idf = np.log(n - df + 0.5) - np.log(df + 0.5)
        mean_idf = float(idf[present].mean())
        idf[present & (idf < 0)] = EPSILON * mean_idf
        norm = K1 * (1 - B + B * lengths / lengths.mean())
        self._idf = np.where(present, idf, 0.0)  # terms of the vocabulary no text here has
        self._weights = idf[term_of] * tf * (K1 + 1) / (tf + norm[row_of])
        self._rows = row_of.astype(np.int32)
        self._indptr = np.concatenate([[0], np.cumsum(df)])

    def idf(self, token: str) -> float | None:
        """Inverse document frequency of a token from ``tokens()``; None when no text has it."""
        i = self._vocab.get(token)
        if i is None or i >= len(self._idf) or self._idf[i] == 0:
            return None
        return float(self._idf[i])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for ``query``; cost is the postings of the query's terms."""
        return self._scores([(t, 1.0) for t in tokens(query, self.lang)])

    def term_scores(self, terms: Mapping[str, float]) -> np.ndarray:
        """BM25 score of every text for weighted query terms (tokens of ``tokens()``): each term's
        postings count ``weight`` times, as a term given that many times in the query would."""
        return self._scores(list(terms.items()))

    def _scores(self, terms: Sequence[tuple[str, float]]) -> np.ndarray:
        if self.size == 0:
            return np.zeros(0)
        found = [(self._vocab[t], w) for t, w in terms if t in self._vocab]
        found = [(i, w) for i, w in found if i + 1 < len(self._indptr)]  # terms added after this build
        if not found:
            return np.zeros(self.size)
        parts = [(slice(self._indptr[i], self._indptr[i + 1]), w) for i, w in found]
        rows = np.concatenate([self._rows[p] for p, _ in parts])
        weights = np.concatenate([self._weights[p] * w for p, w in parts])
        return np.bincount(rows, weights=weights, minlength=self.size).astype(float)
