"""The scale benchmark's report: its figures as Markdown tables and as a plot (``bench.scale``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def table(result: dict[str, Any]) -> str:
    """The figures as Markdown tables; LC is the LangChain tutorial default, ratios are ours / LC."""

    def ms(w: dict[str, float], c: dict[str, float]) -> str:
        return f"{w['p50_ms']:.0f} / {w['p95_ms']:.0f} ({c['p50_ms']:.0f})"

    out = [
        "Indexing (embedding seconds as measured when each vector was made; the rest measured in this run)",
        "",
        "| corpus | chunks (LC) | embedding s e5 + USE (LC MiniLM) | not embedding s (LC) "
        "| chunks/s (LC, ratio) | not-embedding share (LC) |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["sizes"]:
        e, lc = r["embedded"], r.get("langchain") or _NOT_MEASURED
        emb = " + ".join(f"{v:.1f}" for v in e["embed_s"].values())
        out.append(
            f"| {r['target']} | {e['chunks']} ({lc['chunks']}) | {emb} ({_f(sum(lc['embed_s'].values()), '.1f')}) "
            f"| {e['index_other_s']:.1f} ({_f(lc['index_other_s'], '.1f')}) "
            f"| {e['chunks_per_s']:.1f} ({_f(lc['chunks_per_s'], '.1f')}, "
            f"{_ratio(e['chunks_per_s'], lc['chunks_per_s'])}) "
            f"| {e['other_share'] * 100:.1f} % ({_f(lc['other_share'] * 100, '.1f')} %) |"
        )
    out += [
        "",
        "Warm query latency, ms: p50 / p95 wall (p50 CPU of the asking process)",
        "",
        "| corpus | embedded: Bot.ask | server: Bot.ask | LC: similarity_search | p50 ratio embedded / LC |",
        "|---|---|---|---|---|",
    ]
    for r in result["sizes"]:
        e, lc, s = r["embedded"], r.get("langchain"), r.get("server")
        srv = ms(s["warm"], s["warm_cpu"]) if s else "-"
        theirs = ms(lc["warm"], lc["warm_cpu"]) if lc else "not measured"
        ratio = _ratio(e["warm"]["p50_ms"], lc["warm"]["p50_ms"]) if lc else "-"
        out.append(f"| {r['target']} | {ms(e['warm'], e['warm_cpu'])} | {srv} | {theirs} | {ratio} |")
    out += [
        "",
        "Cold process, start to answer: median wall s (median CPU s), peak RSS MiB",
        "",
        "| corpus | `python -m rag ask` embedded | server | LC tutorial process | wall ratio embedded / LC "
        "| BM25 per query ms: rank_bm25 -> sparse | index open s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["sizes"]:
        c = r["cold"]
        cells = {k: f"{v['median_s']:.2f} ({v['median_cpu_s']:.2f}), {v['peak_rss_mib']} MiB" for k, v in c.items()}
        ratio = _ratio(c["embedded"]["median_s"], c["langchain"]["median_s"]) if "langchain" in c else "-"
        out.append(
            f"| {r['target']} | {cells['embedded']} | {cells.get('server', '-')} "
            f"| {cells.get('langchain', 'not measured')} "
            f"| {ratio} "
            f"| {r['bm25_ms']['rank_bm25']} -> {r['bm25_ms']['sparse']} | {r['embedded']['open_s']:.2f} |"
        )
    if "app_seed" in result:
        a = result["app_seed"]
        out.append(
            f"\nChat page (app.py through AppTest, one question) on the seed index: peak RSS {a['peak_rss_mib']} MiB, "
            f"{a['median_s']:.1f} s start to answer"
        )
    if "chroma_server_peak_rss_mib" in result:
        out.append(f"Chroma server process, peak RSS over the run: {result['chroma_server_peak_rss_mib']} MiB")
    for run in result.get("runs") or [result]:
        m = run["machine"]
        out.append(
            f"`{run['command']}`: {m['date']}, load average (1, 5, 15 min) at start {m['load_at_start']}, "
            f"at end {m.get('load_at_end')}"
        )
    return "\n".join(out)


# A size measured without the LangChain default: its cells read "nan".
_NOT_MEASURED: dict[str, Any] = {
    "chunks": "-", "embed_s": {"-": float("nan")}, "index_other_s": float("nan"),
    "chunks_per_s": float("nan"), "other_share": float("nan"),
}  # fmt: skip


def _f(value: float, spec: str) -> str:
    return "-" if value != value else format(value, spec)  # NaN: not measured


def _ratio(ours: float, theirs: float) -> str:
    return "-" if theirs != theirs or not theirs else f"{ours / theirs:.2f}x"


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = result["sizes"]
    fig, (warm, cold_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = [("embedded", "this bot, embedded", "C0"), ("server", "this bot, Chroma server", "C1")]
    for key, label, color in [*series, ("langchain", "LangChain tutorial default", "C2")]:
        pts = [(r["embedded"]["chunks"], r[key]["warm"]) for r in sizes if key in r]
        if not pts:
            continue
        xs = [x for x, _ in pts]
        warm.plot(xs, [w["p50_ms"] for _, w in pts], "o-", color=color, label=f"{label} p50")
        warm.plot(xs, [w["p95_ms"] for _, w in pts], "x--", color=color, alpha=0.6, label=f"{label} p95")
        cpts = [(r["embedded"]["chunks"], r["cold"][key]["median_s"]) for r in sizes if key in r["cold"]]
        cold_ax.plot([x for x, _ in cpts], [y for _, y in cpts], "o-", color=color, label=label)
    warm.set(xscale="log", yscale="log", xlabel="corpus size (this bot's chunks)", ylabel="warm query latency, ms")
    warm.set_title("Warm query latency")
    cold_ax.set(xscale="log", xlabel="corpus size (this bot's chunks)", ylabel="seconds")
    cold_ax.set_title("Cold process: start to answer (median)")
    for ax in (warm, cold_ax):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    m = result["machine"]
    runs = result.get("runs") or [result]
    loads = ", ".join(f"{r['machine']['load_at_start'][0]} -> {r['machine']['load_at_end'][0]}" for r in runs)
    fig.suptitle(f"{m['date']}, {m['cpus']} cores, load average at start -> end of each run: {loads}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
