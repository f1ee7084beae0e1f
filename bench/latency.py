"""Warm answer latency of the learned answer models against the hand-set rules, in one process:
``python -m bench.latency [--runs N]``. Both bots share one seed index and the same encoders; each run
asks every seed gold question once of each, alternating, and the medians and their ratio are printed.
``--compare dictionary`` compares English questions searched through the German-English dictionary
against the same without it (the seed gold set's English questions only)."""

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
    parser.add_argument("--compare", choices=("learned", "dictionary"), default="learned")
    args = parser.parse_args()
    settings = Settings()
    encoders = make_encoders(settings)
    with tempfile.TemporaryDirectory(prefix="rag-latency-") as tmp:
        seeds = Path(tmp) / "seeds"
        seeds.mkdir()
        shutil.copy(SEED_ARTICLE, seeds)
        first_settings = settings.model_copy(update={"index_dir": Path(tmp) / "index"}, deep=True)
        other_settings = first_settings.model_copy(deep=True)
        if args.compare == "learned":
            names = ("learned", "hand-set")
            other_settings.answer.learned = False
        else:
            names = ("dictionary", "own words")
            other_settings.dictionary = None
        bots = {names[0]: Bot(first_settings, encoders=encoders), names[1]: Bot(other_settings, encoders=encoders)}
        bots[names[0]].index([seeds])
        items = load_gold(SEED_GOLD)
        questions = [it.question for it in items if args.compare == "learned" or it.lang == "en"]
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
    ratio = statistics.median(ms[names[0]]) / statistics.median(ms[names[1]])
    print(f"ratio {names[0]} / {names[1]}: {ratio:.2f}")


if __name__ == "__main__":
    main()
