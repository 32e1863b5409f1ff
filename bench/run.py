"""make bench: this server against a no-model ceiling, a tutorial-naive baseline, FastAPI and
``mlflow models serve``, in one run on this machine, as a markdown table and JSON with ratios, and
every target of the performance issue with its measured ratio.

    python -m bench.run [--duration 5] [--concurrency 1,8,32] [--out results/bench] [--skip fastapi,...]

The server, the ceiling and FastAPI run with this server's shipped defaults (workers and threads
derived from the cores, the access log on); the naive baseline is plain ``gunicorn -w 4``.
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

from bench import memory
from bench.ab import interleaved
from bench.measure import measure, tool
from bench.mlflow_serve import MlflowServer
from bench.mlflow_serve import available as mlflow_available
from bench.models import build_mlflow_forest, build_wide_mlp
from inference import config
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


def access_log_rounds(model_dir, scratch, concurrency, duration, rounds=3):
    """req/s with the access log on and off, shipped defaults otherwise, in interleaved rounds."""
    with GunicornServer(model_dir, workers=None, threads=None, log_path=scratch / "log-on.log") as on, \
            GunicornServer(model_dir, workers=None, threads=None, env={"ACCESS_LOG": "0"},
                           log_path=scratch / "log-off.log") as off:
        runs = interleaved([("log on", on), ("log off", off)], "/models/iris-mlp/predict", concurrency, duration,
                           rounds)
    lines = sum(1 for line in (scratch / "log-on.log").read_text().splitlines() if '"inference.access"' in line)
    on_rps = sorted(m["rps"] for m in runs["log on"])[rounds // 2]
    off_rps = sorted(m["rps"] for m in runs["log off"])[rounds // 2]
    answered = sum(m["requests"] for m in runs["log on"])
    return {"on_rps": on_rps, "off_rps": off_rps, "cost": 1 - on_rps / off_rps, "rounds": rounds,
            "concurrency": concurrency, "lines": lines, "requests_at_least": answered,
            "on": [m["rps"] for m in runs["log on"]], "off": [m["rps"] for m in runs["log off"]]}


def mlflow_comparison(scratch, concurrency, duration, workers=2):
    """The same 30-tree forest behind ``mlflow models serve -w N`` and behind this server
    (``inference add`` of the same MLflow directory, N workers), one row each."""
    folder = scratch / "mlflow-forest"
    features, row = build_mlflow_forest(folder)
    repo = scratch / "mlflow-repo"
    subprocess.run([sys.executable, "-m", "inference", "add", str(folder), "--name", "breast-cancer-rf",
                    "--model-dir", str(repo)], check=True, capture_output=True, timeout=300)
    ours_body, theirs_body = scratch / "bc-ours.json", scratch / "bc-mlflow.json"
    ours_body.write_text(json.dumps({"features": row}))
    theirs_body.write_text(json.dumps({"dataframe_split": {"columns": features, "data": [row]}}))
    with MlflowServer(folder, workers=workers, log_path=scratch / "mlflow.log") as srv:
        theirs = measure(srv.url + "/invocations", concurrency, duration, theirs_body)
    with GunicornServer(repo, workers=workers, threads=None) as srv:
        runtime = requests.post(srv.url + "/models/breast-cancer-rf/predict", json={"features": row},
                                timeout=10).headers["X-Model-Runtime"]
        ours = measure(srv.url + "/models/breast-cancer-rf/predict", concurrency, duration, ours_body)
    return {"workers": workers, "concurrency": concurrency, "mlflow": theirs, "server": ours, "runtime": runtime,
            "ratio": ours["rps"] / theirs["rps"] if theirs["rps"] else None}


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
    parser.add_argument("--skip", default="",
                        help="comma list of parts to skip: fastapi,accesslog,memory,mlflow,coalescing,monitoring")
    args = parser.parse_args(argv)
    conc = [int(c) for c in args.concurrency.split(",")]
    skip = set(filter(None, args.skip.split(",")))
    model_dir = Path(args.model_dir).resolve()
    results, extras = [], {}
    scratch = Path(tempfile.mkdtemp(prefix="bench-"))
    b1k, b10k = batch_file(scratch, 1000), batch_file(scratch, 10_000)
    workers, threads = config.server_sizes(config.load(scope=config.SERVER))
    extras["defaults"] = {"workers": workers, "threads": threads, "cores": config.cpu_cores()}
    print(f"bench: load by {tool()}, {args.duration:g} s per point, concurrency {conc}, {config.cpu_cores()} cores; "
          f"shipped defaults here: {workers} workers x {threads} threads, access log on", flush=True)

    with GunicornServer(model_dir, workers=None, threads=None, app="bench.ceiling:app", ready_path="/predict") as srv:
        run_suite([("one row", srv.url + "/predict", None, 1)], conc, args.duration, results, "ceiling")

    with GunicornServer(model_dir, workers=4, plain=True, app="bench.naive_app:app", ready_path="/predict") as srv:
        run_suite([("iris-mlp", srv.url + "/predict", None, 1), ("iris-rf", srv.url + "/rf", None, 1),
                   ("linear 1k rows", srv.url + "/linear", b1k, 1000),
                   ("linear 10k rows", srv.url + "/linear", b10k, 10_000)], conc, args.duration, results, "naive")

    if "fastapi" not in skip:
        with Uvicorn(model_dir, workers=workers) as srv:
            run_suite([("iris-mlp", srv.url + "/predict", None, 1)], conc, args.duration, results, "fastapi")

    with GunicornServer(model_dir, workers=None, threads=None, log_path=scratch / "server.log") as srv:
        base = srv.url + "/models"
        run_suite([("iris-mlp", f"{base}/iris-mlp/predict", None, 1), ("iris-rf", f"{base}/iris-rf/predict", None, 1),
                   ("diabetes-risk", f"{base}/diabetes-risk/predict", None, 1),
                   ("linear 1k rows", f"{base}/linear/predict", b1k, 1000),
                   ("linear 10k rows", f"{base}/linear/predict", b10k, 10_000)], conc, args.duration, results, "server")

    if "accesslog" not in skip:
        print("access log on / off, interleaved rounds (iris-mlp, one row):", flush=True)
        extras["access_log"] = access_log_rounds(model_dir, scratch, max(conc), args.duration)

    if "memory" not in skip:
        pss = memory.measure(model_dir, 4)
        extras["memory"] = {"workers": 4, **pss}
        print(f"  memory: 4 workers serving every bundled model: {pss['total']:.0f} MB PSS", flush=True)

    if "mlflow" not in skip:
        if mlflow_available():
            extras["mlflow"] = mlflow_comparison(scratch, max(conc), args.duration)
            m = extras["mlflow"]
            print(f"  mlflow models serve: {m['mlflow']['rps']:.0f} req/s, this server: {m['server']['rps']:.0f} "
                  f"req/s ({m['runtime']})", flush=True)
        else:
            print("  mlflow: .venv-mlflow missing (make bench installs it); comparison skipped", flush=True)

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

    write(results, args, conc, extras)


if __name__ == "__main__":
    main()
