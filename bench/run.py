"""make bench: this server against a no-model ceiling, a tutorial-naive baseline and FastAPI,
in one run on this machine, as a markdown table and JSON with ratios.

    python -m bench.run [--duration 5] [--concurrency 1,8,32] [--out results/bench]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import requests

from bench.measure import measure, tool
from bench.models import build_wide_mlp
from inference.testing import ROOT, GunicornServer, free_port

ROW = {"features": [5.1, 3.5, 1.4, 0.2]}


class Uvicorn:
    """``uvicorn bench.fastapi_app:app --workers N`` on a free loopback port."""

    def __init__(self, model_dir, workers=4):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # httptools + uvloop: uvicorn's production set-up (its pure-Python h11 parser answered
        # 23 req/s at one connection here: about 40 ms of delayed ACK per response).
        self.cmd = [sys.executable, "-m", "uvicorn", "bench.fastapi_app:app", "--workers", str(workers),
                    "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                    "--http", "httptools", "--loop", "uvloop"]
        self.env = {**os.environ, "MODEL_DIR": str(model_dir)}

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.post(self.url + "/predict", json=ROW, timeout=2).status_code == 200:
                    time.sleep(1)  # let every worker finish starting
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        raise TimeoutError("uvicorn did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()


def batch_file(folder, rows, seed=0):
    """A JSON body of ``rows`` random rows of 3 values (for ``linear``)."""
    path = Path(folder) / f"linear-{rows}.json"
    values = np.random.default_rng(seed).uniform(-1, 1, size=(rows, 3)).round(4).tolist()
    path.write_text(json.dumps({"inputs": values}))
    return path


def run_suite(server_url_paths, concurrencies, duration, results, label, extra=None):
    """Measure each (name, url, body_file, rows) at each concurrency; append rows to ``results``."""
    for name, url, body, rows in server_url_paths:
        for c in concurrencies:
            m = measure(url, c, duration, body)
            m.update({"server": label, "scenario": name, "concurrency": c, "rows_per_request": rows,
                      "rows_per_s": m["rps"] * rows, **(extra or {})})
            results.append(m)
            print(f"  {label:10s} {name:16s} c={c:<3d} {m['rps']:9.1f} req/s  p50 {m['p50_ms']:7.2f} ms  "
                  f"p99 {m['p99_ms']:7.2f} ms  errors {m['errors']}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "artifacts"))
    parser.add_argument("--out", default=f"results/bench-{datetime.now():%Y%m%d-%H%M%S}")
    parser.add_argument("--skip", default="", help="comma list of parts to skip: fastapi,coalescing,monitoring")
    args = parser.parse_args(argv)
    conc = [int(c) for c in args.concurrency.split(",")]
    skip = set(filter(None, args.skip.split(",")))
    model_dir = Path(args.model_dir).resolve()
    results = []
    scratch = Path(tempfile.mkdtemp(prefix="bench-"))
    b1k, b10k = batch_file(scratch, 1000), batch_file(scratch, 10_000)
    print(f"bench: load by {tool()}, {args.duration:g} s per point, concurrency {conc}, {os.cpu_count()} cores",
          flush=True)

    with GunicornServer(model_dir, workers=4, app="bench.ceiling:app", ready_path="/predict",
                        env={"GUNICORN_THREADS": os.environ.get("GUNICORN_THREADS", "2")}) as srv:
        run_suite([("one row", srv.url + "/predict", None, 1)], conc, args.duration, results, "ceiling")

    with GunicornServer(model_dir, workers=4, plain=True, app="bench.naive_app:app", ready_path="/predict") as srv:
        run_suite([("iris-mlp", srv.url + "/predict", None, 1), ("iris-rf", srv.url + "/rf", None, 1),
                   ("linear 1k rows", srv.url + "/linear", b1k, 1000),
                   ("linear 10k rows", srv.url + "/linear", b10k, 10_000)], conc, args.duration, results, "naive")

    if "fastapi" not in skip:
        with Uvicorn(model_dir) as srv:
            run_suite([("iris-mlp", srv.url + "/predict", None, 1)], conc, args.duration, results, "fastapi")

    with GunicornServer(model_dir, workers=4) as srv:
        base = srv.url + "/models"
        run_suite([("iris-mlp", f"{base}/iris-mlp/predict", None, 1), ("iris-rf", f"{base}/iris-rf/predict", None, 1),
                   ("diabetes-risk", f"{base}/diabetes-risk/predict", None, 1),
                   ("linear 1k rows", f"{base}/linear/predict", b1k, 1000),
                   ("linear 10k rows", f"{base}/linear/predict", b10k, 10_000)], conc, args.duration, results, "server")

    if "coalescing" not in skip:
        wide_dir = scratch / "wide"
        build_wide_mlp(wide_dir)
        # One worker with many threads: requests then wait for the model inside the worker, where
        # they can be merged, rather than in the socket backlog. The lone-request latency (the
        # lowest concurrency) is a small difference to find on a noisy machine, so it is measured
        # twice more, on and off interleaved, and each setting keeps its best p50.
        rounds = [("1", conc), ("0", conc), ("1", conc[:1]), ("0", conc[:1])]
        for coalesce, levels in rounds:
            label = "coalesce on" if coalesce == "1" else "coalesce off"
            with GunicornServer(wide_dir, workers=1, threads=32, env={"COALESCE": coalesce}) as srv:
                extra = []
                run_suite([("wide-mlp", srv.url + "/models/wide-mlp/predict", None, 1)], levels, args.duration,
                          extra, label)
            for r in extra:
                earlier = next((e for e in results if (e["server"], e["scenario"], e["concurrency"]) ==
                                (r["server"], r["scenario"], r["concurrency"])), None)
                if earlier is None:
                    results.append(r)
                elif r["p50_ms"] < earlier["p50_ms"]:
                    results[results.index(earlier)] = {**r, "note": "best p50 of 2 interleaved runs"}

    if "monitoring" not in skip:
        # In its own process: its metrics must be in multiprocess mode from the first import.
        print("monitoring cost (drift counting and warnings, in-process):", flush=True)
        subprocess.run([sys.executable, "-m", "bench.monitoring_cost", "--model-dir", str(model_dir)], check=False,
                       timeout=600)

    from bench.report import write

    write(results, args, conc)


if __name__ == "__main__":
    main()
