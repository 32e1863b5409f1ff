"""Interleaved A/B rounds: several server configurations started side by side, loaded in turn
(A, B, A, B, ...) so that a busy machine's swings fall on every configuration alike.

    python -m bench.ab --config "log on:" --config "log off:ACCESS_LOG=0" [--rounds 3] [-c 32]
    python -m bench.ab --config "4x2:WEB_CONCURRENCY=4,GUNICORN_THREADS=2" \
        --config "2x4:WEB_CONCURRENCY=2,GUNICORN_THREADS=4"

Each ``--config`` is ``label:VAR=value,VAR=value`` (environment of ``gunicorn -c gunicorn.conf.py
wsgi:app``). Prints each round's req/s, p99 and the server's CPU per request (user + system time
of the master and its workers over the run, divided by the requests: less swayed by other load
than req/s) with the load average at the time, then the median of each configuration and its
req/s ratio to the first.
"""

import argparse
import os
import statistics
from contextlib import ExitStack

import psutil

from bench.measure import measure
from inference.testing import GunicornServer


def parse_config(text):
    """``"label:A=1,B=2"`` -> ``("label", {"A": "1", "B": "2"})``."""
    label, _, assignments = text.partition(":")
    env = dict(item.split("=", 1) for item in assignments.split(",") if item.strip())
    return label.strip(), env


def cpu_seconds(pids):
    """User + system CPU seconds used so far by the processes ``pids`` (those still alive)."""
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def interleaved(servers, path, concurrency, duration, rounds, body_file=None, report=print):
    """Measure every ``(label, server)`` once per round, in turn; return ``{label: [result, ...]}``.

    ``path`` is one path for all, or ``{label: path}``."""
    results = {label: [] for label, _ in servers}
    for i in range(rounds):
        order = servers if i % 2 == 0 else servers[::-1]  # alternate who goes first
        for label, srv in order:
            pids = [srv.proc.pid, *srv.worker_pids()]
            measure(srv.url + (path[label] if isinstance(path, dict) else path), concurrency, 1, body_file,
                    warmup=0)  # warm-up, outside the CPU count
            before = cpu_seconds(pids)
            m = measure(srv.url + (path[label] if isinstance(path, dict) else path), concurrency, duration,
                        body_file, warmup=0)
            m["cpu_us"] = (cpu_seconds(pids) - before) / max(1, m["requests"]) * 1e6
            m["load"] = os.getloadavg()[0]
            results[label].append(m)
            report(f"  round {i + 1} {label:>12s}: {m['rps']:8.0f} req/s  p99 {m['p99_ms']:7.2f} ms  "
                   f"server CPU {m['cpu_us']:6.1f} µs/req  errors {m['errors']}  load {m['load']:.2f}")
    return results


def summary(results):
    """Median req/s and p99 of each configuration, and its req/s ratio to the first one."""
    first = None
    rows = []
    for label, ms in results.items():
        rps = statistics.median(m["rps"] for m in ms)
        p99 = statistics.median(m["p99_ms"] for m in ms)
        first = first or rps
        rows.append({"label": label, "rps": rps, "p99_ms": p99, "ratio": rps / first,
                     "cpu_us": statistics.median(m["cpu_us"] for m in ms),
                     "load": statistics.mean(m["load"] for m in ms)})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", required=True, help="label:VAR=value,VAR=value")
    parser.add_argument("--path", default="/models/iris-mlp/predict")
    parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "artifacts"))
    parser.add_argument("--app", default="wsgi:app")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("-c", "--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    configs = [parse_config(c) for c in args.config]
    with ExitStack() as stack:
        servers = []
        for label, env in configs:
            workers = int(env.get("WEB_CONCURRENCY", 0)) or None
            srv = stack.enter_context(GunicornServer(args.model_dir, workers=workers, threads=None, env=env,
                                                     app=args.app))
            servers.append((label, srv))
        results = interleaved(servers, args.path, args.concurrency, args.duration, args.rounds)
    for row in summary(results):
        print(f"{row['label']:>12s}: median {row['rps']:8.0f} req/s  p99 {row['p99_ms']:7.2f} ms  "
              f"server CPU {row['cpu_us']:6.1f} µs/req  x{row['ratio']:.3f}  (mean load {row['load']:.2f})")


if __name__ == "__main__":
    main()
