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


# A cell whose req/s falls below this share of the same server's best at a lower concurrency did
# not measure the server: wrk's connections piled on one Gunicorn worker, or something else ran.
COLLAPSE = 0.6


def collapsed(results, server, scenario, c):
    """Why the ``server``/``scenario`` cell at concurrency ``c`` is not trustworthy, or None."""
    cell = _find(results, server, scenario, c)
    lower = [r for r in results if (r["server"], r["scenario"]) == (server, scenario) and r["concurrency"] < c]
    best = max(lower, key=lambda r: r["rps"], default=None)
    if cell and best and cell["rps"] < COLLAPSE * best["rps"]:
        return (f"{server} fell to {cell['rps']:,.0f} req/s at c={c} from {best['rps']:,.0f} at "
                f"c={best['concurrency']}")
    return None


def uneven_rounds(log):
    """Why the access log's on/off rounds did not measure the log's cost, or None: a round far below
    the best one (either setting) is the connection pile-up or a busy machine, not the log."""
    rounds = [("on", rps) for rps in log.get("on", [])] + [("off", rps) for rps in log.get("off", [])]
    if not rounds:
        return None
    best, worst = max(rounds, key=lambda r: r[1]), min(rounds, key=lambda r: r[1])
    if worst[1] < COLLAPSE * best[1]:
        return f"a log-{worst[0]} round fell to {worst[1]:,.0f} req/s from a log-{best[0]} round's {best[1]:,.0f}"
    return None


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


def targets(results, conc, extras=None):
    """Each target of the performance issue with its measured ratio (one-row scenarios at the
    highest concurrency unless said otherwise)."""
    extras = extras or {}
    top = max(conc)
    out = []

    def check(text, ok, detail, doubt=None):
        """``doubt``: why the cells behind this ratio did not measure the servers ([?], not a verdict)."""
        mark = "?" if doubt else "x" if ok else " "
        out.append(f"- [{mark}] {text}: {detail}" + (f" (not a measurement: {doubt}; run again)" if doubt else ""))

    def doubts(*cells):
        found = (collapsed(results, server, scenario, top) for server, scenario in cells)
        return "; ".join(filter(None, found)) or None

    mlp = _find(results, "server", "iris-mlp", top)
    fast = _find(results, "fastapi", "iris-mlp", top)
    own = ("server", "iris-mlp")
    if mlp:
        check(f"iris-mlp one row at c={top} ≥ 1.5× the naive app", (mlp["x_baseline_rps"] or 0) >= 1.5,
              f"{_fmt(mlp['x_baseline_rps'])}×", doubts(own, ("naive", "iris-mlp")))
        if fast:
            ratio = _ratio(mlp["rps"], fast["rps"])
            check(f"iris-mlp one row at c={top} ≥ 1.0× FastAPI + uvicorn (same worker count)", (ratio or 0) >= 1.0,
                  f"{_fmt(ratio)}×", doubts(own, ("fastapi", "iris-mlp")))
        check(f"iris-mlp one row at c={top} ≥ 0.8× the bare-Flask ceiling", (mlp["x_ceiling"] or 0) >= 0.8,
              f"{_fmt(mlp['x_ceiling'])}×", doubts(own, ("ceiling", "one row")))
        check(f"iris-mlp p99 at c={top} no worse than the naive app's", (mlp["x_baseline_p99"] or 9) <= 1.0,
              f"{_fmt(mlp['x_baseline_p99'])}× the naive app's p99", doubts(own, ("naive", "iris-mlp")))
    for c in conc:
        rf = _find(results, "server", "iris-rf", c)
        if rf:
            ratio = rf["x_baseline_rps"] or 0
            found = (collapsed(results, server, "iris-rf", c) for server in ("server", "naive"))
            doubt = "; ".join(filter(None, found))
            check(f"iris-rf one row at c={c} ≥ 10× the naive joblib forest (goal 20×)", ratio >= 10,
                  f"{_fmt(rf['x_baseline_rps'], 1)}×{' (goal 20× met)' if ratio >= 20 else ''}", doubt or None)
    log = extras.get("access_log")
    if log:
        check(f"access log costs ≤ 10% of throughput (on vs off, {log['rounds']} interleaved rounds, c="
              f"{log['concurrency']})", log["cost"] <= 0.10,
              f"{log['cost'] * 100:.1f}% ({log['on_rps']:,.0f} vs {log['off_rps']:,.0f} req/s, median of each)",
              uneven_rounds(log))
    mem = extras.get("memory")
    if mem:
        check("4 workers serving every bundled model ≤ 300 MB PSS in all", mem["total"] <= 300,
              f"{mem['total']:.0f} MB (master {mem['master']:.0f}, workers "
              f"{', '.join(f'{w:.0f}' for w in mem['workers'])})")
    for c in conc:
        big = _find(results, "server", "linear 10k rows", c)
        if big:
            check(f"10,000-row batch at c={c}, fully validated, rows/s ≥ the naive app's (no validation)",
                  (big["x_baseline_rps"] or 0) >= 1.0, f"{_fmt(big['x_baseline_rps'])}×")
    on1, on_top = _find(results, "coalesce on", "wide-mlp", min(conc)), _find(results, "coalesce on", "wide-mlp", top)
    if on_top:
        check(f"coalescing ≥ 2× throughput at c={top} (wide-mlp)", (on_top["x_coalesce_off_rps"] or 0) >= 2,
              f"{_fmt(on_top['x_coalesce_off_rps'])}×")
    if on1:
        check(f"coalescing p50 at c={min(conc)} within 5% of no coalescing", (on1["x_coalesce_off_p50"] or 9) <= 1.05,
              f"{_fmt(on1['x_coalesce_off_p50'], 3)}× the p50 without it")
    ml = extras.get("mlflow")
    if ml:
        check(f"MLflow directory: this server ≥ 10× `mlflow models serve` (-w {ml['workers']} both, one row, "
              f"c={ml['concurrency']})", (ml["ratio"] or 0) >= 10,
              f"{_fmt(ml['ratio'], 1)}× ({ml['server']['rps']:,.0f} vs {ml['mlflow']['rps']:,.0f} req/s; p99 "
              f"{ml['server']['p99_ms']:.1f} vs {ml['mlflow']['p99_ms']:.1f} ms; served by {ml['runtime']})")
    defaults = extras.get("defaults")
    if defaults:
        workers, cores = defaults["workers"], defaults["cores"]
        threads = max(1, cores // workers)
        check("no default oversubscription by torch threads", workers * threads <= max(cores, workers),
              f"{workers} workers × {threads} torch thread(s) on {cores} cores (cores // workers, at least 1; "
              "torch is not even imported while every model has an ONNX twin)")
    return "\n".join(out)


def write(results, args, conc, extras=None):
    """Print the report and write ``<out>.md`` and ``<out>.json``."""
    extras = extras or {}
    add_ratios(results)
    date = datetime.now(UTC).isoformat(timespec="seconds")
    tool = results[0]["tool"] if results else "?"
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    defaults = extras.get("defaults", {})
    head = (f"Measured {date} on {os.cpu_count()} cores (load average at the end {load}) with {tool}, "
            f"{args.duration:g} s per point after a 1 s warm-up; every server on the same machine, one after "
            f"another (`make bench`). This server, the ceiling and FastAPI: {defaults.get('workers', '?')} workers "
            f"(× {defaults.get('threads', '?')} threads for Gunicorn), the shipped defaults here; the naive app: "
            f"`gunicorn -w 4`.")
    text = f"{head}\n\n{table(results)}\n\nTargets:\n{targets(results, conc, extras)}\n"
    print("\n" + text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps({"date": date, "tool": tool, "duration_s": args.duration,
                                                    "cores": os.cpu_count(), "load_average": os.getloadavg(),
                                                    "results": results, **extras}, indent=2))
    print(f"written: {out.with_suffix('.md')} and .json")
