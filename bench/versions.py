"""This checkout against another one (a baseline, e.g. ``git worktree add ../base <commit>``), in one run:

    python -m bench.versions --baseline ../base [--runs 5]

Each run starts one fresh process per checkout, in turn (A B A B ...), so that drift of the machine
hits both alike. A process indexes the seed article into a temporary folder, asks every seed gold
question once to warm up, then times each question once more (warm answer, median in ms); the cold
start is the wall time of ``python -m rag ask`` on that index (models loaded, one answer printed) for
``--question`` (default: a "how many" question). ``--articles DIR --limit N`` indexes the first N
articles of DIR beside the seed, and the indexing time (the process's ``Bot.index`` call, models
loaded before) is reported as well.
Only the API both checkouts share is used (``Settings``, ``Bot``), so any two versions compare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
SEED = "seeds/000_094a88c166a7f8c4.txt"
GOLD = "tests/data/seed_gold.jsonl"
COLD_QUESTION = "How many troops did Shoigu claim?"

# Run inside each checkout: prints {"warm_ms": median, "index": folder}.
CHILD = """
import json, shutil, statistics, sys, time
from pathlib import Path
from rag.config import Settings
from rag.pipeline import Bot
tmp = Path(sys.argv[1]); seeds = tmp / "seeds"; seeds.mkdir(parents=True, exist_ok=True)
shutil.copy(sys.argv[2], seeds)
for extra in sys.argv[4:]:
    shutil.copy(extra, seeds)
bot = Bot(Settings(index_dir=tmp / "index"))
t0 = time.perf_counter(); bot.index([seeds]); index_s = time.perf_counter() - t0
questions = [json.loads(l)["question"] for l in open(sys.argv[3], encoding="utf-8") if l.strip()]
for q in questions:
    bot.ask(q)
ms = []
for q in questions:
    t0 = time.perf_counter(); bot.ask(q); ms.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"warm_ms": statistics.median(ms), "index_s": index_s, "index": str(tmp / "index")}))
"""


def one(checkout: Path, tmp: Path, question: str = COLD_QUESTION, extra: Sequence[Path] = ()) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp), str(HERE / SEED), str(HERE / GOLD), *map(str, extra)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    t0 = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "rag", "ask", question, "--index-dir", got["index"]],
        cwd=checkout,
        env=env,
        capture_output=True,
        check=True,
    )
    return {"warm_ms": got["warm_ms"], "cold_s": time.monotonic() - t0, "index_s": got["index_s"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", type=Path, required=True, help="another checkout of this project")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--question", default=COLD_QUESTION, help="the question the cold rag ask is timed on")
    p.add_argument("--articles", type=Path, help="a folder of articles to index beside the seed")
    p.add_argument("--limit", type=int, default=20, help="how many of --articles (the first by name)")
    args = p.parse_args()
    extra = [p.resolve() for p in sorted(args.articles.glob("*.txt"))[: args.limit]] if args.articles else []
    runs: dict[str, list[dict[str, float]]] = {"this": [], "baseline": []}
    for i in range(args.runs):
        for name, checkout in (("this", HERE), ("baseline", args.baseline.resolve())):
            with tempfile.TemporaryDirectory(prefix="rag-versions-") as tmp:
                runs[name].append(one(checkout, Path(tmp), args.question, extra))
        print(
            f"run {i + 1}: "
            + ", ".join(
                f"{n} {r[-1]['warm_ms']:.1f} ms / {r[-1]['cold_s']:.2f} s / index {r[-1]['index_s']:.1f} s"
                for n, r in runs.items()
            )
        )
    for key, unit in (("warm_ms", "ms warm answer"), ("cold_s", "s cold rag ask"), ("index_s", "s indexing")):
        a = statistics.median(r[key] for r in runs["this"])
        b = statistics.median(r[key] for r in runs["baseline"])
        ratios = [x[key] / y[key] for x, y in zip(runs["this"], runs["baseline"], strict=True)]
        print(f"{unit}: this {a:.2f}, baseline {b:.2f}, paired ratio median {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
