"""Command line: ``python -m rag index|ask|remove|status|eval|train|train-spans``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.errors import RagError, one_line

if TYPE_CHECKING:
    from rag.index.store import Manifest

log = logging.getLogger("rag")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rag", description="Answer questions about news articles with cited passages."
    )
    sub = p.add_subparsers(dest="command", required=True)
    ix = sub.add_parser("index", help="index article files and folders (default: seeds/)")
    ix.add_argument(
        "paths",
        nargs="*",
        help="files or folders of .txt, .md or .html articles, or http(s) addresses; the command line "
        "fetches from any address, local and private ones included (the chat page fetches only public "
        "addresses and those in RAG_FETCH_ALLOW)",
    )
    ix.add_argument("--index-dir", type=Path, help="index folder (default: index/)")
    ix.add_argument("--prune", action="store_true", help="drop indexed articles that are gone from the given paths")
    ix.add_argument("--rebuild", action="store_true", help="build a fresh index (the old one serves until it is done)")
    ix.add_argument("--wait", type=float, default=0.0, help="seconds to wait for another running update")
    ix.add_argument("--quiet", action="store_true", help="no progress bar")
    ask = sub.add_parser("ask", help="answer a question with cited passages")
    ask.add_argument("question", nargs="?", help="the question (omit with --jsonl)")
    ask.add_argument("--index-dir", type=Path)
    ask.add_argument("--k", type=int, help="passages to return (default 5)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--jsonl", action="store_true", help="read questions from stdin, one per line; write JSON lines")
    ask.add_argument("--article", help="answer from this article only: its file name, source or words of its title")
    ask.add_argument("--since", help="answer from articles dated on or after this day (YYYY-MM-DD)")
    ask.add_argument("--until", help="answer from articles dated on or before this day (YYYY-MM-DD)")
    rm = sub.add_parser("remove", help="drop articles from the index (their files are left alone)")
    rm.add_argument("sources", nargs="+", help="an article's source as `status` lists it, or a folder")
    rm.add_argument("--index-dir", type=Path)
    rm.add_argument("--wait", type=float, default=0.0, help="seconds to wait for another running update")
    st = sub.add_parser("status", help="show what the index holds")
    st.add_argument("--index-dir", type=Path)
    st.add_argument("--json", action="store_true")
    ev = sub.add_parser("eval", help="measure answer quality (XQuAD-dev, seed gold set) beside two peers")
    ev.add_argument("--data", choices=["xquad", "seed", "all"], default="all", help="question sets (default: all)")
    ev.add_argument("--limit", type=int, help="at most N XQuAD questions per language, evenly spaced")
    ev.add_argument("--articles", type=int, help="index only the first N XQuAD articles and ask their questions")
    ev.add_argument(
        "--peers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure plain BM25 and the LangChain tutorial default (default: on)",
    )
    ev.add_argument("--out", type=Path, default=Path("bench/results/quality.json"), help="JSON report path")
    ev.add_argument(
        "--heldout",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also fit the answer models fold by fold and score them on held-out articles (default: on)",
    )
    ev.add_argument(
        "--workdir",
        type=Path,
        help="keep the indexes here and update them on the next run (default: a temporary folder)",
    )
    tr = sub.add_parser(
        "train", help="fit the answer models on XQuAD-dev and the news training questions (bench/data), write them"
    )
    tr.add_argument("--out", type=Path, default=Path("rag/answering/models/answer.json"), help="model file to write")
    tr.add_argument("--workdir", type=Path, default=Path("bench/cache/train"), help="indexes kept between runs")
    tr.add_argument(
        "--report", type=Path, default=Path("bench/results/heldout.json"), help="where the held-out figures go"
    )
    sp = sub.add_parser(
        "train-spans", help="fit the short-answer span model on XQuAD-dev and the news training questions"
    )
    sp.add_argument("--out", type=Path, default=Path("rag/answering/models/spans.json"), help="model file to write")
    sp.add_argument("--workdir", type=Path, default=Path("bench/cache/train"), help="indexes kept between runs")
    sp.add_argument("--report", type=Path, default=Path("bench/results/spans.json"), help="held-out figures")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        overrides = {"index_dir": args.index_dir} if getattr(args, "index_dir", None) else {}
        settings = Settings(**overrides)
        if args.command == "index":
            return _index(args, settings)
        if args.command == "ask":
            return _ask(args, settings)
        if args.command == "remove":
            return _remove(args, settings)
        if args.command == "eval":
            return _eval(args, settings, argv if argv is not None else sys.argv[1:])
        if args.command == "train":
            return _train(args, settings)
        if args.command == "train-spans":
            return _train_spans(args, settings)
        return _status(args, settings)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; the index keeps its last complete state.", file=sys.stderr)
        return 130


def _index(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from rag.language import dictionary, thesaurus
    from rag.pipeline import Bot

    paths = args.paths or [str(settings.seeds_dir)]
    bar = None if args.quiet else tqdm(total=0, unit="chunk", desc="indexing", file=sys.stderr, leave=False)

    def progress(done: int, total: int, source: str) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.set_postfix_str(Path(source).name[:30])
            bar.refresh()

    # The tables derived from the dictionary and the thesaurus are made while the articles are
    # indexed, so that the first question after an install does not wait for them (10 s once).
    cache = settings.model_cache()
    dictionary.preload(settings.dictionary, cache)
    thesaurus.preload(settings.thesaurus, cache)
    bot = Bot(settings)
    report = bot.index(
        paths, progress=progress, prune=args.prune, rebuild=args.rebuild, wait=args.wait, any_address=True
    )
    dictionary.load(settings.dictionary, cache)  # (waits for the reading started above)
    thesaurus.load(settings.thesaurus, cache)
    if bar is not None:
        bar.close()
    for line in report.notes:
        print(f"note: {one_line(line)}", file=sys.stderr)
    for source, why in report.skipped:
        print(f"skipped {one_line(source)}: {one_line(why)}", file=sys.stderr)
    status = 0
    for dup, known in report.duplicates:
        if dup in paths:  # named on the command line: the user asked for exactly this file
            print(
                one_line(f"error: {dup} has the same text as {known}, which is indexed; nothing was added for it."),
                file=sys.stderr,
            )
            status = 2
        else:
            print(one_line(f"skipped {dup}: same text as {known}"), file=sys.stderr)
    print(report.summary())
    return status


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    from rag.index.update import remove_sources

    report = remove_sources(settings, args.sources, wait=args.wait)
    print(f"Removed {len(report.removed)} article(s); {report.chunks_total} chunk(s) left in the index.")
    return 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag.index.health import precheck
    from rag.pipeline import Bot, check_question
    from rag.types import Scope

    scope = Scope(args.article, args.since, args.until)
    if args.jsonl:
        precheck(settings)
        bot = Bot(settings)
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                out = bot.ask(line, k=args.k, scope=scope).to_json()
            except RagError as exc:
                out = {"question": line.strip(), "error": str(exc)}
            print(json.dumps(out, ensure_ascii=False), flush=True)
        return 0
    check_question(args.question or "")
    precheck(settings)  # a damaged index is told at once, not after the models load
    answer = Bot(settings).ask(args.question, k=args.k, scope=scope)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=1))
        return 0
    print(answer.answer)
    for c in answer.citations:
        dated = f" ({c.date})" if c.date else ""
        where = f"{c.source} ({c.meta_field})" if c.meta_field else f"{c.source}:{c.start}-{c.end}"
        print(f"\n[{c.n}] {c.title}{dated} — {where}")
    if answer.notice:
        print(f"note: {answer.notice}", file=sys.stderr)
    return 0


def _eval(args: argparse.Namespace, settings: Settings, argv: list[str]) -> int:
    import shlex

    from rag.training.quality import SEED_GOLD, XQUAD_DIR
    from rag.training.quality import main as run_eval

    if args.data != "seed":
        _need_data(XQUAD_DIR / "questions.jsonl")
    if args.data != "xquad":
        _need_data(SEED_GOLD)
    command = shlex.join(["python", "-m", "rag", *argv])
    return run_eval(
        settings, args.data, args.limit, args.articles, args.peers, args.out, command, args.workdir, args.heldout
    )


def _train(args: argparse.Namespace, settings: Settings) -> int:
    from rag.training.quality import NEWS_DIR, XQUAD_DIR
    from rag.training.report import tables
    from rag.training.train import train

    _need_data(XQUAD_DIR / "questions.jsonl")
    report = train(settings, args.workdir, args.out, XQUAD_DIR, args.report, news=NEWS_DIR)
    print(tables({"heldout": report, "seconds": 0.0}).rsplit("\n", 1)[0])
    return 0


def _train_spans(args: argparse.Namespace, settings: Settings) -> int:
    from rag.training.quality import NEWS_DIR, XQUAD_DIR
    from rag.training.spans import train_spans

    _need_data(XQUAD_DIR / "questions.jsonl")
    report = train_spans(settings, args.workdir, args.out, XQUAD_DIR, args.report, news=NEWS_DIR)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


def _need_data(path: Path) -> None:
    if not path.is_file():
        raise RagError(
            f"{path} is missing: training and evaluation read their questions from a checkout of the "
            "project (bench/data, tests/data); run the command there."
        )


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from rag.types import Meta

    """What the index holds; then one ``error:`` line per problem found (exit 2 when any)."""
    import datetime

    from rag.errors import IndexUnavailable
    from rag.index.health import problems
    from rag.index.manifest import PENDING, read_manifest

    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        raise IndexUnavailable(f"{settings.index_dir} is not an index; build it with: python -m rag index")
    found = problems(settings, manifest)
    try:
        pending = read_manifest(settings.index_dir, PENDING)
    except IndexUnavailable:
        pending = None
        found.append(
            f"{settings.index_dir} holds a damaged {PENDING} (an unfinished build); "
            "python -m rag index drops it and starts that build again"
        )
    if args.json:
        print(json.dumps({**manifest.to_json(), "problems": found}, ensure_ascii=False, indent=1))
        return 2 if found else 0
    built = datetime.datetime.fromtimestamp(manifest.built_at).isoformat(timespec="seconds")
    chunks = sum(a["chunks"] for a in manifest.articles.values())
    print(
        f"{settings.index_dir}: {len(manifest.articles)} article(s), {chunks} chunk(s), "
        f"model {manifest.embedding['name']} ({manifest.embedding['dim']}-d), built {built}"
    )
    if settings.chroma_url:
        print(_server_status(settings, manifest))
    if pending is not None:
        print(
            f"  unfinished build for {pending.embedding['name']} ({len(pending.articles)} article(s) so far); "
            "python -m rag index finishes it"
        )
    for meta in sorted(manifest.articles.values(), key=lambda m: m["source"]):
        dated = Meta.of_entry(meta).dated() or "undated"
        print(f"  {meta['source']}  {dated}  {meta['chunks']} chunks  {meta['title']}")
    for line in found:
        print(f"error: {one_line(line)}", file=sys.stderr)
    return 2 if found else 0


def _server_status(settings: Settings, manifest: Manifest) -> str:
    """One line on the vectors a Chroma server holds for this index (connecting names the URL on failure)."""
    from rag.index import store

    client = store.make_client(settings.index_dir, settings.chroma_url)
    have = set(store.collection_names(client))
    expected = sum(a["chunks"] for a in manifest.articles.values())
    counts = [client.get_collection(n).count() for n in manifest.collections.values() if n in have]
    line = (
        f"  vectors on the Chroma server at {settings.chroma_url}: {len(counts)} of {len(manifest.collections)} "
        f"collection(s), {' and '.join(map(str, counts)) or 'no'} chunk(s)"
    )
    if len(counts) < len(manifest.collections) or any(c != expected for c in counts):
        line += f"; {expected} expected: python -m rag index restores the missing ones"
    return line


def run() -> None:
    """The ``rag`` command and ``python -m rag``."""
    code = main()
    if sys.argv[1:2] == ["ask"]:
        # Answering writes nothing: once the answer is printed, leave without tearing down the opened
        # index and models (half a second on a 100k-chunk index).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)
