"""The questions the answer models are fitted on, with their indexes and searches made once.

A ``Bench`` holds one collection of articles: XQuAD-dev (Wikipedia paragraphs) or the news desk
(200 DER STANDARD articles, training questions over some of them). Its articles are split into folds;
each fold's questions are asked of an index of every article and of one lacking the fold's articles
(other-article negatives). The news bench also has on-topic questions its articles do not answer.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answering import spans
from rag.answering.answer import Answerer, Examination
from rag.answering.evidence import VectorMemo
from rag.answering.learned import AnswerModel
from rag.answering.retrieve import Retriever, Trace
from rag.config import Settings
from rag.training.evaluate import XQuADItem, covers, same_file
from rag.types import Answer, Passage

FOLDS = 4
DEPTH = 10


def load_news_training(folder: Path, name: str = "train.jsonl") -> tuple[list[XQuADItem], list[XQuADItem]]:
    """The news questions of ``folder/name`` (the training questions by default; ``questions.jsonl``
    is the check set): answerable ones with the gold answer's offset in its article, and on-topic
    ones the article does not answer (empty answer). Other kinds (overview, collection, metadata) are
    left out."""
    rows = [json.loads(line) for line in (folder / name).read_text(encoding="utf-8").splitlines() if line]
    facts, unanswerable = [], []
    for r in rows:
        if r["kind"] not in ("fact", "unanswerable"):
            continue
        article = f"articles/{r['article']}"  # relative to ``folder``, as XQuAD's are to theirs
        if r["kind"] == "unanswerable":
            unanswerable.append(XQuADItem(r["id"], r["lang"], r["question"], "", article, 0))
            continue
        text = (folder / article).read_text(encoding="utf-8")
        at = text.index(r["evidence"]) + r["evidence"].index(r["answer"])
        facts.append(XQuADItem(r["id"], r["lang"], r["question"], r["answer"], article, at))
    return facts, unanswerable


def news_bench(settings: Settings, encoders: Sequence[Any], folder: Path, workdir: Path) -> Bench | None:
    """The news desk as training data: all its articles indexed, the training questions over some of
    them (None when the folder has no ``train.jsonl``)."""
    if not (folder / "train.jsonl").is_file():
        return None
    facts, open_ = load_news_training(folder)
    corpus = [f"articles/{p.name}" for p in sorted((folder / "articles").glob("*.txt"))]
    return Bench(settings, encoders, facts, folder, workdir, name="news", corpus=corpus, unanswerable=open_)


def fold_of(names: Sequence[str], folds: int = FOLDS) -> dict[str, int]:
    """Article file -> fold: every ``folds``-th article of the sorted list, so folds mix topics."""
    return {name: i % folds for i, name in enumerate(sorted(names))}


@dataclass
class Searched:
    passages: list[Passage]
    trace: Trace


class Bench:
    """The indexes (all articles; all but one fold) and every question's retrieval, made once."""

    def __init__(
        self,
        settings: Settings,
        encoders: Sequence[Any],
        items: Sequence[XQuADItem],
        root: Path,
        workdir: Path,
        folds: int = FOLDS,
        *,
        name: str = "xquad",
        corpus: Sequence[str] | None = None,
        unanswerable: Sequence[XQuADItem] = (),
    ) -> None:
        """``corpus``: every article to index (default: the questions' articles); ``unanswerable``:
        on-topic questions the articles do not answer; ``name`` names the index folders."""
        self.settings, self.encoders, self.items = settings, list(encoders), items
        self.root, self.workdir, self.name = root, workdir, name
        self.names = sorted({it.article for it in items})
        self.corpus = sorted(corpus) if corpus is not None else self.names
        self.unanswerable = list(unanswerable)
        self.n_folds = folds
        self.folds = fold_of(self.names, folds)
        # One vector memo for every answerer made here: each would otherwise embed the same sentences again.
        self._memos = (VectorMemo(self.encoders[-1], 200_000), VectorMemo(self.encoders[0], 200_000))
        self._retrievers: dict[str, Retriever] = {}
        self._searched: dict[tuple[str, str], Searched] = {}
        self._texts: dict[str, str] = {}  # article file -> its text, read once

    def fold(self, item: XQuADItem) -> int:
        return self.folds[item.article]

    def retriever(self, key: str) -> Retriever:
        """'all', or 'without-K': an index lacking fold K's articles (built or updated in place)."""
        if key not in self._retrievers:
            from rag.index.manifest import read_manifest
            from rag.index.update import index_paths

            if key == "all":
                names, folder = self.corpus, "ours-xquad" if self.name == "xquad" else f"{self.name}-all"
            else:
                k = int(key.split("-")[1])
                names, folder = [n for n in self.corpus if self.folds.get(n) != k], f"{self.name}-{key}"
            settings = self.settings.model_copy(update={"index_dir": self.workdir / folder})
            note(f"index {self.name} {key}: {len(names)} articles")
            paths = [self.root / n for n in names]
            kept = read_manifest(settings.index_dir)
            wanted = {p.name for p in paths}
            if kept is not None and any(Path(a["source"]).name not in wanted for a in kept.articles.values()):
                # A kept index from other folds (more training articles since) holds articles this one
                # must lack, which pruning keeps while their files exist: this work folder is built again.
                note(f"index {self.name} {key}: held {len(kept.articles)} articles, building it again")
                shutil.rmtree(settings.index_dir)
            index_paths(settings, self.encoders, paths, prune=True, analyser=spans.analyser())
            self._retrievers[key] = Retriever(settings, self.encoders)
        return self._retrievers[key]

    def search(self, key: str, question: str) -> Searched:
        if (key, question) not in self._searched:
            passages, trace = self.retriever(key).search(question, DEPTH)
            self._searched[(key, question)] = Searched(passages, trace)
        return self._searched[(key, question)]

    def key_without(self, item: XQuADItem) -> str:
        return f"without-{self.fold(item)}"

    def _without_paragraph(self, item: XQuADItem) -> Searched:
        """The search over all articles with the paragraph holding the answer taken out: the
        passages, hits and chunk scores inside it are dropped (passages never cross a paragraph).
        The rest of the article stays: same topic, same names, but not the answer."""
        got = self.search("all", item.question)
        arts = self.retriever("all").articles
        gold = str(self.root / item.article)
        text = self._texts.setdefault(item.article, (self.root / item.article).read_text(encoding="utf-8"))
        start = text.rfind("\n", 0, item.start) + 1
        end = text.find("\n", item.end)
        end = len(text) if end < 0 else end

        def inside(article_id: str, a: int, b: int) -> bool:
            return a < end and start < b and same_file(arts[article_id].source, gold)

        tr = got.trace
        trace = dataclasses.replace(
            tr,
            hits=[h for h in tr.hits if not inside(h.chunk.article_id, h.chunk.start, h.chunk.end)],
            chunk_dense=[(c, sc) for c, sc in tr.chunk_dense if not inside(c.article_id, c.start, c.end)],
        )
        return Searched([p for p in got.passages if not inside(p.article_id, p.start, p.end)], trace)

    def _got(self, key: str, item: XQuADItem) -> tuple[Searched, str]:
        """The search for ``item`` under ``key``: 'all', 'without-K', or 'without-paragraph'."""
        if key == "without-paragraph":
            return self._without_paragraph(item), "all"
        return self.search(key, item.question), key

    def answerer(self, model: AnswerModel | None) -> Answerer:
        return Answerer(self.settings.answer, self._memos[0], self._memos[1], model)

    def examine(self, answerer: Answerer, key: str, item: XQuADItem) -> Examination:
        got, index = self._got(key, item)
        question = self.retriever(index).read(item.question)
        return answerer.examine(question, got.passages, self.retriever(index).articles, got.trace)

    def answer(self, answerer: Answerer, key: str, item: XQuADItem) -> Answer:
        got, index = self._got(key, item)
        question = self.retriever(index).read(item.question)
        return answerer.answer(question, got.passages, self.retriever(index).articles, got.trace)

    def gold_row(self, exam: Examination, item: XQuADItem) -> int | None:
        """Index of the candidate sentence holding the whole gold answer, if any."""
        arts = self.retriever("all").articles
        gold = str(self.root / item.article)
        for i, e in enumerate(exam.ranked):
            if covers(arts[e.article_id].source, e.start, e.end, gold, item.start, item.end):
                return i
        return None


def note(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
