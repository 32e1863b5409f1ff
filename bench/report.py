"""Turn bench results into a markdown table with ratios, the targets, and JSON. No measuring here."""

import json
import os
from datetime import UTC, datetime
from pathlib import Path


def _find(results, server, scenario, c):
    for r in results:
        if (r["server"], r["scenario"], r["concurrency"]) == (server, scenario, c):
            return r
    return None


def _ratio(a, b):
    return a / b if a is not None and b else None


def add_ratios(results):
    """× ceiling (one-row scenarios) and × baseline (same scenario, same concurrency)."""
    for r in results:
        ceiling = _find(results, "ceiling", "one row", r["concurrency"])
        naive = _find(results, "naive", r["scenario"], r["concurrency"])
        r["x_ceiling"] = _ratio(r["rps"], ceiling["rps"]) if ceiling and r["rows_per_request"] == 1 else None
        r["x_baseline_rps"] = _ratio(r["rps"], naive["rps"]) if naive and r["server"] != "naive" else None
        r["x_baseline_p99"] = _ratio(r["p99_ms"], naive["p99_ms"]) if naive and r["server"] != "naive" else None
        if r["server"] == "coalesce on":
            off = _find(results, "coalesce off", r["scenario"], r["concurrency"])
            r["x_coalesce_off_rps"] = _ratio(r["rps"], off["rps"]) if off else None
            r["x_coalesce_off_p50"] = _ratio(r["p50_ms"], off["p50_ms"]) if off else None


def _fmt(value, digits=2, suffix=""):
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def table(results):
    """The markdown table, one row per measurement."""
    lines = ["| server | scenario | c | req/s | rows/s | p50 ms | p99 ms | errors | × ceiling | × baseline req/s "
             "| × baseline p99 |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['server']} | {r['scenario']} | {r['concurrency']} | {r['rps']:,.0f} | "
                     f"{r['rows_per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | "
                     f"{_fmt(r['x_ceiling'])} | {_fmt(r['x_baseline_rps'])} | {_fmt(r['x_baseline_p99'])} |")
    return "\n".join(lines)


def targets(results, conc):
    """Each target of the performance issue with its measured ratio, at the highest concurrency."""
    top = max(conc)
    out = []

    def check(text, ok, detail):
        out.append(f"- [{'x' if ok else ' '}] {text}: {detail}")

    mlp = _find(results, "server", "iris-mlp", top)
    fast = _find(results, "fastapi", "iris-mlp", top)
    if mlp:
        check(f"iris-mlp one row at c={top} ≥ 0.8× the ceiling", (mlp["x_ceiling"] or 0) >= 0.8,
              f"{_fmt(mlp['x_ceiling'])}×")
        check(f"iris-mlp one row at c={top} ≥ 1.5× the naive baseline", (mlp["x_baseline_rps"] or 0) >= 1.5,
              f"{_fmt(mlp['x_baseline_rps'])}×")
        check(f"iris-mlp p99 at c={top} no worse than the baseline's", (mlp["x_baseline_p99"] or 9) <= 1.0,
              f"{_fmt(mlp['x_baseline_p99'])}× the baseline's p99")
        if fast:
            check(f"iris-mlp at c={top} at least level with FastAPI + uvicorn", mlp["rps"] >= fast["rps"],
                  f"{_fmt(_ratio(mlp['rps'], fast['rps']))}× FastAPI's req/s")
    for c in conc:
        rf = _find(results, "server", "iris-rf", c)
        if rf:
            check(f"iris-rf one row at c={c} ≥ 10× the naive joblib forest", (rf["x_baseline_rps"] or 0) >= 10,
                  f"{_fmt(rf['x_baseline_rps'], 1)}×")
    for c in conc:
        big = _find(results, "server", "linear 10k rows", c)
        if big:
            check(f"10,000-row batch at c={c}, fully validated, rows/s ≥ the baseline's (no validation)",
                  (big["x_baseline_rps"] or 0) >= 1.0, f"{_fmt(big['x_baseline_rps'])}×")
    on1, on_top = _find(results, "coalesce on", "wide-mlp", min(conc)), _find(results, "coalesce on", "wide-mlp", top)
    if on_top:
        check(f"coalescing ≥ 2× throughput at c={top} (wide-mlp)", (on_top["x_coalesce_off_rps"] or 0) >= 2,
              f"{_fmt(on_top['x_coalesce_off_rps'])}×")
    if on1:
        check(f"coalescing p50 at c={min(conc)} within 5% of no coalescing", (on1["x_coalesce_off_p50"] or 9) <= 1.05,
              f"{_fmt(on1['x_coalesce_off_p50'], 3)}× the p50 without it")
    workers, cores = 4, os.cpu_count() or 1
    threads = max(1, cores // workers)
    check("no default oversubscription by torch threads", workers * threads <= max(cores, workers),
          f"{workers} workers × {threads} torch thread(s) on {cores} cores (cores // workers, at least 1)")
    return "\n".join(out)


def write(results, args, conc):
    """Print the report and write ``<out>.md`` and ``<out>.json``."""
    add_ratios(results)
    date = datetime.now(UTC).isoformat(timespec="seconds")
    tool = results[0]["tool"] if results else "?"
    head = (f"Measured {date} on {os.cpu_count()} cores with {tool}, {args.duration:g} s per point after a 1 s "
            f"warm-up; every server on the same machine, one after another (`make bench`).")
    text = f"{head}\n\n{table(results)}\n\nTargets:\n{targets(results, conc)}\n"
    print("\n" + text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps({"date": date, "tool": tool, "duration_s": args.duration,
                                                    "cores": os.cpu_count(), "results": results}, indent=2))
    print(f"written: {out.with_suffix('.md')} and .json")
