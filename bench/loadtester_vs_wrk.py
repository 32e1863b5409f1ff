"""The bundled load tester against wrk: one server, one run, the two tools back to back.

    python -m bench.loadtester_vs_wrk [--rounds 2] [--duration 10] [--json FILE] [--url URL]

Starts the server (its shipped worker and thread defaults, as ``make serve``) unless ``--url`` names one, then for
each round measures POST /models/iris-mlp/predict with one iris row at 32 connections and at 1,
wrk and the tester back to back (the first tool alternates between rounds), and prints the
ratios the tester is held to: its throughput at 32 connections against wrk's (target >= 0.6)
and its p50 at 1 connection against wrk's (target <= 1.5). Needs wrk (``make bench-deps``).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from bench.measure import WRK_SCRIPT, parse_wrk
from inference.testing import ROOT, GunicornServer

PATH = "/models/iris-mlp/predict"
BODY = '{"features": [5.1, 3.5, 1.4, 0.2]}'
MANY, ONE = 32, 1  # connections
TARGET_RPS_RATIO = 0.6  # tester req/s at 32 connections, at least this share of wrk's
TARGET_P50_RATIO = 1.5  # tester p50 at 1 connection, at most this multiple of wrk's


def run_wrk(url, connections, duration, warmup):
    """wrk's req/s and p50 (ms) at ``connections``, after an unrecorded warm-up run."""
    threads = str(min(2, connections))
    base = ["wrk", "-t", threads, "-c", str(connections), "--latency", "-s", WRK_SCRIPT]
    if warmup:
        subprocess.run([*base, "-d", f"{max(1, round(warmup))}s", url], cwd=ROOT, capture_output=True, timeout=60)
    out = subprocess.run([*base, "-d", f"{max(1, round(duration))}s", "--timeout", "10s", url], cwd=ROOT,
                         capture_output=True, text=True, timeout=duration + 60)
    if "Requests/sec" not in out.stdout:
        raise RuntimeError(f"wrk failed: {out.stdout}{out.stderr}")
    result = parse_wrk(out.stdout)
    return {"tool": "wrk", "command": " ".join([*base, "-d", f"{max(1, round(duration))}s", url]), **result}


def run_tester(url, connections, duration, warmup, processes=None):
    """The bundled tester's req/s, p50 (ms), processes and self-check warnings at ``connections``."""
    args = ["-m", "loadtest", url, "--body", BODY, "-c", str(connections), "-t", f"{duration:g}",
            "--warmup", f"{warmup:g}", "--no-progress"]
    if processes:
        args += ["--processes", str(processes)]
    with_json = [sys.executable, *args, "--json", "/dev/stdout"]
    out = subprocess.run(with_json, cwd=ROOT, capture_output=True, text=True, timeout=duration + warmup + 120)
    if out.returncode:
        raise RuntimeError(f"loadtest failed: {out.stdout}{out.stderr}")
    step = json.loads(out.stdout[out.stdout.index("{\n"):])["steps"][0]
    return {"tool": "loadtest", "command": "python " + " ".join(a if " " not in a else f"'{a}'" for a in args),
            "rps": step["throughput_rps"], "p50_ms": step["latency_p50_s"] * 1000,
            "p99_ms": step["latency_p99_s"] * 1000, "errors": step["errors"], "requests": step["requests"],
            "processes": step["processes"], "tester_cpu_cores": step["tester_cpu_cores"],
            "machine_cpu_busy": step["machine_cpu_busy"], "warnings": step["warnings"]}


def ratios(rounds):
    """Per round and median: tester/wrk req/s at 32 connections, tester/wrk p50 at 1; and whether each
    median meets its target."""
    rps = [r["loadtest"][MANY]["rps"] / r["wrk"][MANY]["rps"] for r in rounds]
    p50 = [r["loadtest"][ONE]["p50_ms"] / r["wrk"][ONE]["p50_ms"] for r in rounds]
    return {"rps_ratio_c32": rps, "p50_ratio_c1": p50,
            "rps_ratio_c32_median": statistics.median(rps), "p50_ratio_c1_median": statistics.median(p50),
            "rps_target_met": statistics.median(rps) >= TARGET_RPS_RATIO,
            "p50_target_met": statistics.median(p50) <= TARGET_P50_RATIO}


def measure_rounds(url, n_rounds, duration, warmup, processes=None, say=print):
    """``n_rounds`` rounds of wrk and the tester at 32 and 1 connections, back to back."""
    rounds = []
    for i in range(n_rounds):
        tools = [("wrk", run_wrk), ("loadtest", run_tester)]
        if i % 2:
            tools.reverse()  # alternate who goes first, so that drift does not favour one tool
        result = {"wrk": {}, "loadtest": {}}
        for connections in (MANY, ONE):
            for name, run in tools:
                extra = (processes,) if name == "loadtest" else ()
                m = run(url, connections, duration, warmup, *extra)
                result[name][connections] = m
                say(f"  round {i + 1}  {name:8s} c={connections:<3d} {m['rps']:8.1f} req/s  p50 {m['p50_ms']:6.3f} ms"
                    + (f"  ({m['processes']} process(es), tester {m['tester_cpu_cores']:.2f} cores)"
                       if name == "loadtest" else ""))
        rounds.append(result)
    return rounds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the four measurements (default 2)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unrecorded seconds before each (default 1)")
    parser.add_argument("--processes", type=int, help="force the tester's --processes (default: its own rule)")
    parser.add_argument("--url", help="measure this running server's origin instead of starting one")
    parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "artifacts"))
    parser.add_argument("--json", dest="json_out", metavar="FILE", help="write rounds and ratios as JSON")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (make bench-deps, or apt-get install -y wrk)")
    print(f"loadtester vs wrk: POST {PATH}, {args.rounds} round(s), {args.duration:g} s each, "
          f"{os.cpu_count()} cores (the tools and the server share them)", flush=True)
    if args.url:
        rounds = measure_rounds(args.url.rstrip("/") + PATH, args.rounds, args.duration, args.warmup, args.processes)
    else:
        with GunicornServer(Path(args.model_dir).resolve(), workers=None, threads=None) as server:
            rounds = measure_rounds(server.url + PATH, args.rounds, args.duration, args.warmup, args.processes)
    summary = ratios(rounds)
    print(f"tester/wrk req/s at c={MANY}: " + ", ".join(f"{r:.2f}" for r in summary["rps_ratio_c32"])
          + f"  median {summary['rps_ratio_c32_median']:.2f}  (target >= {TARGET_RPS_RATIO}: "
          + ("met" if summary["rps_target_met"] else "NOT met") + ")")
    print(f"tester/wrk p50 at c={ONE}:   " + ", ".join(f"{r:.2f}" for r in summary["p50_ratio_c1"])
          + f"  median {summary['p50_ratio_c1_median']:.2f}  (target <= {TARGET_P50_RATIO}: "
          + ("met" if summary["p50_target_met"] else "NOT met") + ")")
    warnings = {w for r in rounds for c in (MANY, ONE) for w in r["loadtest"][c]["warnings"]}
    for note in sorted(warnings):
        print(f"tester self-check: {note}")
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps(
            {"date": datetime.now().astimezone().isoformat(timespec="seconds"), "cores": os.cpu_count(),
             "duration_s": args.duration, "rounds": [{t: {str(c): m for c, m in r[t].items()} for t in r}
                                                      for r in rounds], **summary}, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    main()
