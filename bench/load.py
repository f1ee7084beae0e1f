"""Load on the real chat page: 1, 5 and 10 people asking at once, once with nothing else going on
and once while a large article added from the page is being indexed.

    .venv/bin/python -m bench.load                       # writes bench/results/load.json
    .venv/bin/python -m bench.load --client socket --runs 3 --article-kb 300 --out FILE
    .venv/bin/python -m bench.load --think 5 --article-kb 0  # people who read their answers
    .venv/bin/python -m bench.load --from bench/results/load-socket.json   # the table of a saved run

The page is ``streamlit run app.py`` on a free local port, over an index of seeds/ built in a temp
folder. Each person asks a stretch of the seed article's gold questions (English and German mixed)
one after another, in a headless Chromium context of their own (the system browser) or, with
``--client socket``, over the page's websocket protocol without drawing anything. An answer is timed
from pressing Enter until the page has handled the end of its script run and shows it with nothing
stale left (bench/loadkit.py). Every answer is compared with what ``Bot.ask`` gives one user asking
the same questions in the same order: the answer text, each highlighted quote and the "Searched:"
line. Results and their reading: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.loadkit import (
    CHROMIUM_ARGS,
    Asked,
    ChatPage,
    chromium,
    cpu_seconds,
    cpu_used,
    descendants,
    large_article,
    plans,
    same_text,
    streamlit_server,
)
from bench.scalekit import COLD_QUESTION, ENV, SEED, machine, peak_rss_of, percentiles
from bench.wsclient import SocketPage

Key = tuple[str, tuple[str, ...]]


# -- single-user answers -------------------------------------------------------------------------
def build_index(work: Path, encoders: list[Any]) -> tuple[Path, Path]:
    """The seed article indexed into ``work``: (index folder, seeds folder)."""
    from rag.config import Settings
    from rag.pipeline import Bot

    seeds = work / "seeds"
    seeds.mkdir(parents=True)
    shutil.copy(SEED, seeds / SEED.name)
    Bot(Settings(index_dir=work / "index", seeds_dir=seeds), encoders=encoders).index([seeds])
    return work / "index", seeds


def single_user(bot: Any, sessions: Sequence[Sequence[str]]) -> dict[Key, Any]:
    """What ``bot`` answers each question given the questions asked before it in the same session."""
    out: dict[Key, Any] = {}
    for questions in sessions:
        for i, q in enumerate(questions):
            history = tuple(questions[:i])
            out[(q, history)] = bot.ask(q, history=history)
    return out


def differs(asked: Asked, ref: Any) -> str | None:
    """How the page's answer differs from the single-user ``Answer``; None when it does not."""
    if asked.error is not None:
        return None  # counted as an error
    if ref is None:
        return "no single-user answer to compare with"
    if not same_text(asked.answer, ref.answer):
        return f"answer {asked.answer!r} != {ref.answer!r}"
    quotes = [c.quote for c in ref.citations] if not ref.abstained else []
    if len(asked.quotes) != len(quotes) or not all(map(same_text, asked.quotes, quotes)):
        return f"quotes {asked.quotes} != {quotes}"
    searched = ref.searched if ref.searched and ref.searched != ref.question else None
    if (asked.searched or None) != searched and not same_text(asked.searched or "", searched or ""):
        return f"searched {asked.searched!r} != {searched!r}"
    return None


# -- driving the page ----------------------------------------------------------------------------
@dataclass
class Load:
    """How the sessions behave, and what to watch while they ask."""

    per_session: int = 5
    think: float = 0.0  # seconds a person reads an answer before asking the next question
    server_pid: int | None = None
    client: str = "browser"  # or "socket": the page's websocket protocol, no browser drawing the page


async def session(page: ChatPage | SocketPage, n: int, questions: Sequence[str], think: float) -> list[Asked]:
    """One person asking ``questions`` in turn. With a ``think`` time, they start within the first
    ``think`` seconds and read each answer for 0.5-1.5 times ``think`` (drawn with seed ``n``), so
    that the sessions do not ask in step."""
    out, history = [], []
    pauses = random.Random(n)
    for i, q in enumerate(questions):
        if think:
            await asyncio.sleep(pauses.uniform(0.5, 1.5) * think if i else pauses.uniform(0, think))
        asked = await page.ask(n, q, history)
        out.append(asked)
        if asked.error is None:  # the page keeps only answered questions as the conversation
            history.append(q)
    return out


async def level(browser: Any, url: str, sessions: Sequence[Sequence[str]], load: Load) -> tuple[list[Asked], dict]:
    """Every session in its own browser context (or websocket), opened first, then all asking at once;
    the answers, and the seconds from the first question to the last answer with the CPU seconds the
    server and the benchmark's own processes (this one, the browser and its driver) used meanwhile."""
    contexts, pages = [], []
    try:
        if load.client == "socket":
            pages += [SocketPage() for _ in sessions]
        else:  # animations (the spinner, the running indicator) would only cost the shared CPU here
            viewport = {"width": 1280, "height": 900}
            contexts += [await browser.new_context(viewport=viewport, reduced_motion="reduce") for _ in sessions]
            pages += [ChatPage(await ctx.new_page()) for ctx in contexts]
        await asyncio.gather(*(p.open(url) for p in pages))
        ours = descendants(os.getpid(), leave_out=load.server_pid)
        server = [load.server_pid] if load.server_pid else []
        cpu0, t0 = (cpu_seconds(server), cpu_seconds(ours)), time.perf_counter()
        asking = zip(pages, sessions, strict=True)
        done = await asyncio.gather(*(session(p, n, qs, load.think) for n, (p, qs) in enumerate(asking)))
        used = {
            "wall_s": round(time.perf_counter() - t0, 2),
            "server_cpu_s": round(cpu_used(cpu0[0], server), 2),
            "bench_cpu_s": round(cpu_used(cpu0[1], ours), 2),
        }
        for n, p in enumerate(pages):
            for problem in p.problems:
                print(f"  session {n}: {problem}", flush=True)
        return [a for answers in done for a in answers], used
    finally:
        for page in pages:
            if isinstance(page, SocketPage):
                await page.close()
        for ctx in contexts:
            await ctx.close()


def summary(
    answers: list[Asked], used: dict[str, float], refs: dict[Key, Any], load: tuple[list[float], list[float]]
) -> dict[str, Any]:
    times = [a.seconds for a in answers if a.seconds is not None]
    server = [a.server_seconds for a in answers if a.server_seconds is not None]
    diffs = [(a, differs(a, refs.get((a.question, tuple(a.history))))) for a in answers]
    rendered: dict[tuple[str, str], set[str]] = {}
    for a in answers:
        if a.error is None:
            rendered.setdefault((a.question, a.history[-1] if a.history else ""), set()).add(" ".join(a.text.split()))
    return {
        "sessions": len({a.session for a in answers}),
        "answers": len(answers),
        "errors": sum(a.error is not None for a in answers),
        "error_examples": sorted({a.error for a in answers if a.error})[:5],
        "latency": percentiles(times) | {"max_ms": max(times) * 1000} if times else {},
        "server_latency": percentiles(server) if server else {},
        "equal_to_single_user": sum(a.error is None and d is None for a, d in diffs),
        "differences": [f"{a.question}: {d}" for a, d in diffs if d][:5],
        "renderings_differ": sum(len(texts) > 1 for texts in rendered.values()),
        **used,
        "answers_per_s": round(len(times) / used["wall_s"], 2) if used["wall_s"] else 0.0,
        "server_cpu_per_answer_s": round(used["server_cpu_s"] / len(times), 3) if times else None,
        "bench_cpu_per_answer_s": round(used["bench_cpu_s"] / len(times), 3) if times else None,
        "load_before": load[0],
        "load_after": load[1],
        "asked": [
            {
                "session": a.session,
                "question": a.question,
                "seconds": a.seconds,
                "server_seconds": a.server_seconds,
                "error": a.error,
            }
            for a in answers
        ],
        "_asked": answers,  # dropped before the row is saved
    }


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def measure(
    browser: Any, url: str, levels: Sequence[int], load: Load, refs: dict[Key, Any], label: str
) -> list[dict[str, Any]]:
    out = []
    for n in levels:
        before = loadavg()
        answers, used = await level(browser, url, plans(n, load.per_session), load)
        row = {"phase": label, "client": load.client, "think_s": load.think}
        row |= summary(answers, used, refs, (before, loadavg()))
        print(f"[{label}] {table_row(row)}", flush=True)
        out.append(row)
    return out


async def one_run(
    url: str, levels: Sequence[int], load: Load, refs: dict[Key, Any], article: Path | None
) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_ARGS)
        try:
            ctx = await browser.new_context()
            warm = ChatPage(await ctx.new_page())
            await warm.open(url)
            await warm.ask(-1, COLD_QUESTION, [])  # the first question opens the index in the server
            await ctx.close()
            rows = await measure(browser, url, levels, load, refs, "idle")
            indexing = None
            if article is not None:
                indexing, more = await while_indexing(browser, url, levels, load, refs, article)
                rows += more
            return {"levels": rows, "indexing": indexing}
        finally:
            await browser.close()


async def while_indexing(
    browser: Any, url: str, levels: Sequence[int], load: Load, refs: dict[Key, Any], article: Path
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One more session adds ``article`` in the sidebar; the levels are measured while it is indexed."""
    ctx = await browser.new_context()
    try:
        adder = ChatPage(await ctx.new_page())
        await adder.open(url)
        job = asyncio.create_task(adder.add_file(article))
        await adder.indexing()
        rows = await measure(browser, url, levels, load, refs, "indexing")
        started, seconds, outcome = await job
        finished = started + seconds
        for row in rows:
            row["answered_while_indexing"] = sum(0 < a.done_at <= finished for a in row["_asked"])
        info = {
            "article_bytes": article.stat().st_size,
            "seconds": round(seconds, 1),
            "outcome": outcome,
            "levels_done_while_indexing": all(a.done_at <= finished for r in rows for a in r["_asked"]),
        }
        print(f"[indexing] {json.dumps(info, ensure_ascii=False)}", flush=True)
        return info, rows
    finally:
        await ctx.close()


# -- the run ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--levels", default="1,5,10", help="comma-separated numbers of sessions asking at once")
    p.add_argument("--per-session", type=int, default=5, help="questions each session asks in turn")
    p.add_argument(
        "--client",
        choices=["browser", "socket"],
        default="browser",
        help="browser: a Chromium page per session; socket: the page's websocket protocol, nothing drawn",
    )
    p.add_argument(
        "--think", type=float, default=0.0, help="seconds a person reads an answer (0.5-1.5x, random) before the next"
    )
    p.add_argument("--runs", type=int, default=1, help="whole runs, each on a freshly started page (medians)")
    p.add_argument("--article-kb", type=int, default=300, help="size of the article indexed during the load; 0: skip")
    p.add_argument("--out", type=Path, default=Path("bench/results/load.json"))
    p.add_argument("--from", dest="from_json", type=Path, help="only print the table of a saved run")
    args = p.parse_args(argv)
    if args.from_json:
        print(table(json.loads(args.from_json.read_text(encoding="utf-8"))))
        return 0
    os.environ.update(ENV)
    from rag.config import Settings
    from rag.pipeline import Bot, make_encoders

    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    result: dict[str, Any] = {"command": " ".join(["python -m bench.load", *(argv or sys.argv[1:])])}
    result["machine"] = machine()
    work = Path(tempfile.mkdtemp(prefix="rag-load-"))
    try:
        encoders = make_encoders(Settings())
        index, seeds = build_index(work / "template", encoders)
        bot = Bot(Settings(index_dir=index, seeds_dir=seeds), encoders=encoders)
        refs = single_user(bot, plans(max(levels), args.per_session))
        result["runs"] = []
        for r in range(args.runs):
            run_dir = work / f"run-{r}"
            shutil.copytree(index.parent, run_dir)
            article = large_article(work / "articles", args.article_kb, r + 1) if args.article_kb else None
            with streamlit_server(run_dir / "index", run_dir / "seeds", run_dir / "server.log") as (url, pid):
                load = Load(args.per_session, args.think, pid, args.client)
                run = asyncio.run(one_run(url, levels, load, refs, article))
                run["server_peak_rss_mib"] = peak_rss_of(pid)
            for row in run["levels"]:
                del row["_asked"]
            result["runs"].append(run)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["machine"]["load_at_end"] = loadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print(table(result))
    return 0


def table_row(row: dict[str, Any]) -> str:
    lat = row["latency"]
    ms = f"{lat['p50_ms'] / 1000:.2f} / {lat['p95_ms'] / 1000:.2f} / {lat['max_ms'] / 1000:.2f}" if lat else "-"
    srv = row.get("server_latency") or {}
    server = f"{srv['p50_ms'] / 1000:.2f} / {srv['p95_ms'] / 1000:.2f}" if srv else "-"
    during = row.get("answered_while_indexing", "-")
    cpu = f"{row['server_cpu_per_answer_s']:.2f} / {row['bench_cpu_per_answer_s']:.2f}" if lat else "-"
    return (
        f"| {row['phase']} | {row['sessions']} | {row['think_s']:g} | {row['answers']} | {row['errors']} | {ms} "
        f"| {server} "
        f"| {row['answers_per_s']:.1f} | {cpu} | {row['equal_to_single_user']} | {during} "
        f"| {row['load_before'][0]:.2f} -> {row['load_after'][0]:.2f} |"
    )


def table(result: dict[str, Any]) -> str:
    out = [
        "| phase | sessions | think s | answers | errors | Enter to complete answer, s: p50 / p95 / max "
        "| of it server, s: p50 / p95 | answers/s | CPU s per answer: server / browser and driver "
        "| equal to single-user | answered while indexing | load average before -> after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r, run in enumerate(result["runs"]):
        out += [table_row(row) for row in run["levels"]]
        if run.get("indexing"):
            i = run["indexing"]
            out.append(
                f"\nRun {r + 1}: indexing a {i['article_bytes'] / 1000:.0f} KB article from the page took "
                f"{i['seconds']:.0f} s ({i['outcome']}); every level finished while it ran: "
                f"{i['levels_done_while_indexing']}. Server peak RSS {run['server_peak_rss_mib']} MiB.\n"
            )
    if len(result["runs"]) > 1:
        out += ["Medians over the runs, p50 / p95 s:", ""]
        for k, row in enumerate(result["runs"][0]["levels"]):
            p50 = statistics.median(run["levels"][k]["latency"]["p50_ms"] for run in result["runs"]) / 1000
            p95 = statistics.median(run["levels"][k]["latency"]["p95_ms"] for run in result["runs"]) / 1000
            out.append(f"- {row['phase']}, {row['sessions']} sessions: {p50:.2f} / {p95:.2f}")
    m = result["machine"]
    out.append(
        f"\n`{result['command']}`: {m['date']}, {m['cpus']} cores, load average (1, 5, 15 min) at start "
        f"{m['load_at_start']}, at end {m.get('load_at_end')}"
    )
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
