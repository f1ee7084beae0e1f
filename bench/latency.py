"""Warm answer latency of the learned answer models against the hand-set rules, in one process:
``python -m bench.latency [--runs N]``. Both bots share one seed index and the same encoders; each run
asks every seed gold question once of each, alternating, and the medians and their ratio are printed."""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from rag.config import Settings
from rag.pipeline import Bot, make_encoders
from rag.training.evaluate import load_gold
from rag.training.quality import SEED_ARTICLE, SEED_GOLD


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    settings = Settings()
    encoders = make_encoders(settings)
    with tempfile.TemporaryDirectory(prefix="rag-latency-") as tmp:
        seeds = Path(tmp) / "seeds"
        seeds.mkdir()
        shutil.copy(SEED_ARTICLE, seeds)
        learned_settings = settings.model_copy(update={"index_dir": Path(tmp) / "index"}, deep=True)
        hand_settings = learned_settings.model_copy(deep=True)
        hand_settings.answer.learned = False
        bots = {"learned": Bot(learned_settings, encoders=encoders), "hand-set": Bot(hand_settings, encoders=encoders)}
        bots["learned"].index([seeds])
        questions = [it.question for it in load_gold(SEED_GOLD)]
        for bot in bots.values():  # warm: vectors memoised, index open
            for q in questions:
                bot.ask(q)
        ms: dict[str, list[float]] = {name: [] for name in bots}
        for _ in range(args.runs):
            for name, bot in bots.items():
                t0 = time.perf_counter()
                for q in questions:
                    bot.ask(q)
                ms[name].append((time.perf_counter() - t0) / len(questions) * 1000)
    for name, values in ms.items():
        print(f"{name}: median {statistics.median(values):.1f} ms per question over {args.runs} runs")
    print(f"ratio learned / hand-set: {statistics.median(ms['learned']) / statistics.median(ms['hand-set']):.2f}")


if __name__ == "__main__":
    main()
