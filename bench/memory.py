"""Proportional memory (PSS) of a Gunicorn master and its workers serving the bundled models.

    python -m bench.memory [--workers 4] [--model-dir artifacts]

PSS splits each shared page among the processes that map it, so the sum over master and
workers is what the server really costs the machine.
"""

import argparse
import base64
import os
import time
from pathlib import Path

import psutil
import requests

from inference.testing import GunicornServer

MB = 1024 * 1024
DIGIT = base64.b64encode((Path(__file__).parents[1] / "docs" / "digit-7.png").read_bytes()).decode()


def pss_mb(pid):
    """PSS of one process in MB (Linux ``smaps_rollup``)."""
    return psutil.Process(pid).memory_full_info().pss / MB


def measure(model_dir, workers, env=None, requests_each=20):
    """Start a server, warm every model in every worker, and return PSS by process."""
    with GunicornServer(model_dir, workers=workers, env=env) as srv:
        models = requests.get(srv.url + "/models", timeout=10).json()["models"]
        with requests.Session() as s:
            for _ in range(requests_each * workers):
                for meta in models:
                    inputs = meta["inputs"]
                    width = len(inputs["features"]) if "features" in inputs else None
                    body = {"features": [1.0] * width} if width else {"image": DIGIT}
                    r = s.post(f"{srv.url}/models/{meta['name']}/predict", json=body, timeout=10)
                    r.raise_for_status()
        time.sleep(0.5)
        master = pss_mb(srv.proc.pid)
        each = [pss_mb(pid) for pid in srv.worker_pids()]
    return {"master": master, "workers": each, "total": master + sum(each)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "artifacts"))
    args = parser.parse_args(argv)
    rows = []
    for label, env in (("libraries preloaded in the master (default)", {"GUNICORN_PRELOAD_LIBRARIES": "1"}),
                       ("nothing preloaded", {"GUNICORN_PRELOAD_LIBRARIES": "0"})):
        r = measure(args.model_dir, args.workers, env)
        rows.append((label, r))
        workers = ", ".join(f"{w:.0f}" for w in r["workers"])
        print(f"{label}: total {r['total']:.0f} MB PSS (master {r['master']:.0f}, workers {workers})", flush=True)
    return rows


if __name__ == "__main__":
    main()
