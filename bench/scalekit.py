"""Pieces of the scale benchmark (bench/scale.py): the corpora, the embedding cache, child processes."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
XQUAD = HERE / "data" / "xquad-dev"
SEED = ROOT / "seeds" / "000_094a88c166a7f8c4.txt"
SEED_GOLD = ROOT / "tests" / "data" / "seed_gold.jsonl"
CACHE = HERE / "cache" / "embeddings.sqlite"
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
COLD_QUESTION = "How many troops did Shoigu claim?"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


# -- corpus ----------------------------------------------------------------------------------
def edition(text: str, copy: int) -> str:
    """The article with an edition marker before the end of every sentence: each chunk differs."""
    from rag.articles.chunking import sentences

    out = text
    for s in reversed(sentences(text)):
        end = s.end - 1 if text[s.end - 1] in ".!?" else s.end
        out = f"{out[:end]} (Ausgabe {copy}){out[end:]}"
    return out


def build_corpus(folder: Path, target: str, max_chars: int) -> int:
    """Write article files into ``folder`` until about ``target`` chunks; returns the chunk count."""
    from rag.articles.chunking import chunk_article
    from rag.articles.ingest import make_article

    bases = [SEED] if target == "seed" else [SEED, *sorted((XQUAD / "articles").glob("*.txt"))]
    goal = 0 if target == "seed" else int(target)
    folder.mkdir(parents=True, exist_ok=True)
    chunks, copy = 0, 0
    while True:
        for path in bases:
            text = path.read_text(encoding="utf-8")
            text = text if copy == 0 else edition(text, copy)
            name = f"{copy:03d}_{path.name}"
            (folder / name).write_text(text, encoding="utf-8")
            chunks += len(chunk_article(make_article(text, name, path.stem), max_chars))
            if chunks >= goal:
                return chunks
        copy += 1


def questions(target: str, n: int = 20) -> list[str]:
    """Seed gold questions, plus German and English XQuAD questions spread over the set."""
    from rag.training.evaluate import load_gold, load_xquad

    seed = [g.question for g in load_gold(SEED_GOLD)]
    if target == "seed":
        return seed
    items = load_xquad(XQUAD, ("de", "en"))
    step = max(1, len(items) // (2 * n))
    return seed[:6] + [it.question for it in items[::step][: 2 * n]]


# -- embeddings cache ------------------------------------------------------------------------
class VectorCache:
    """Vectors by (model, text hash), with the seconds each took to make."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, secs REAL, v BLOB)")

    def get(self, keys: Sequence[str]) -> dict[str, tuple[float, list[float]]]:
        out: dict[str, tuple[float, list[float]]] = {}
        for i in range(0, len(keys), 500):
            part = list(keys[i : i + 500])
            q = f"SELECT key, secs, v FROM vec WHERE key IN ({','.join('?' * len(part))})"
            for key, secs, blob in self.db.execute(q, part):
                out[key] = (secs, np.frombuffer(blob, dtype=np.float32).tolist())
        return out

    def put(self, rows: Sequence[tuple[str, float, list[float]]]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO vec VALUES (?, ?, ?)",
            [(k, s, np.asarray(v, dtype=np.float32).tobytes()) for k, s, v in rows],
        )
        self.db.commit()


class Cached(Embeddings):
    """An encoder whose document vectors come from the cache when known. ``cost``: seconds the model
    took (or took when the vector was cached) for the documents asked for; ``overhead``: all seconds
    spent in here, which the benchmark subtracts from the indexing time."""

    def __init__(self, inner: Any, cache: VectorCache, name: str | None = None) -> None:
        self.inner, self.cache = inner, cache
        self.name = name or inner.name
        self.dim = getattr(inner, "dim", 0)
        self.cost = self.overhead = 0.0
        self.made = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        t0 = time.perf_counter()
        keys = [hashlib.sha256(f"{self.name}\n{t}".encode()).hexdigest() for t in texts]
        known = self.cache.get(keys)
        fresh = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
        if fresh:
            t1 = time.perf_counter()
            vectors = self.inner.embed_documents(list(fresh.values()))
            each = (time.perf_counter() - t1) / len(fresh)
            rows = [(k, each, v) for k, v in zip(fresh, vectors, strict=True)]
            self.cache.put(rows)
            known.update({k: (s, v) for k, s, v in rows})
            self.made += len(fresh)
        self.cost += sum(known[k][0] for k in keys)
        self.overhead += time.perf_counter() - t0
        return [list(known[k][1]) for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


# -- measuring -------------------------------------------------------------------------------
def percentiles(samples: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)), "n": len(ms)}


# Reports the child's own peak RSS (VmHWM) at exit, also when it leaves through os._exit (``rag ask``
# does). The kernel's ru_maxrss of a child counts the forked copy of this (large) benchmark process
# before exec, so it cannot be used here.
PEAK_SNIPPET = """
import atexit, os, sys
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("PEAK_RSS_KB " + line.split()[1] + "\\n")
            sys.stderr.flush()
atexit.register(_peak)
_leave = os._exit
def _exit(code):
    _peak()
    _leave(code)
os._exit = _exit
"""
_RUN_MODULE = (
    PEAK_SNIPPET
    + """
import runpy
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""
)


def module_cmd(module: str, *args: str) -> list[str]:
    """``python -m module args`` that also reports its peak RSS."""
    return [sys.executable, "-c", _RUN_MODULE, module, *args]


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds, peak RSS (MiB) and stdout of one child process."""
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    text, log = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[-3:])} exited {proc.returncode}: {log[-2000:]}")
    peaks = [int(line.split()[1]) for line in log.splitlines() if line.startswith("PEAK_RSS_KB ")]
    return secs, usage.ru_utime + usage.ru_stime, (peaks[-1] // 1024 if peaks else 0), text


def cold(cmd: list[str], env: dict[str, str], runs: int) -> dict[str, Any]:
    results = [run_child(cmd, env) for _ in range(runs)]
    return {
        "median_s": statistics.median(r[0] for r in results),
        "runs_s": [round(r[0], 3) for r in results],
        "median_cpu_s": statistics.median(r[1] for r in results),
        "peak_rss_mib": max(r[2] for r in results),
        "first_line": results[0][3].strip().splitlines()[0][:120] if results[0][3].strip() else "",
    }


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return {**env, **ENV, **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started here: terminate, then kill if it does not exit within 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def chroma_server(data: Path, port: int | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Chroma server (`chroma run`) on ``port`` (default: a free one), storing into ``data``;
    stopped by its pid on exit. Yields (url, process). The benchmark and the tests both use it."""
    import httpx

    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = data.parent / f"chroma-{port}.log"
    log = open(log_path, "wb")
    chroma = Path(sys.executable).with_name("chroma")
    cmd = [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Chroma server did not start: {log_path.read_text()}")
            time.sleep(0.3)
        yield url, proc
    finally:
        stop_process(proc)
        log.close()


def peak_rss_of(pid: int) -> int:
    """VmHWM of a running process in MiB (0 where /proc is unavailable)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return 0


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "date": datetime.date.today().isoformat(),
        "cpus": os.cpu_count(),
        "cpu": _cpu_name(),
        "python": platform.python_version(),
        "load_at_start": [round(x, 2) for x in load],
    }


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()
