"""What drift counting and out-of-range warnings cost per request: the app called in-process (as
``bench.profile`` does: no network) with DRIFT and WARNINGS on, then off, interleaved, best of 3.

    python -m bench.monitoring_cost [--model iris-mlp] [--requests 3000] [--rounds 3]

The metrics are in multiprocess mode (a temporary PROMETHEUS_MULTIPROC_DIR), as under Gunicorn, so
each counter update is the memory-mapped write a worker does."""

import argparse
import json
import os
import shutil
import tempfile

ROWS = {"iris-mlp": [5.1, 3.5, 1.4, 0.2], "iris-rf": [5.1, 3.5, 1.4, 0.2], "diabetes-risk": [48, 26.5, 94, 99]}


def cost(model_dir, model="iris-mlp", requests=3000, rounds=3, features=None):
    """Microseconds per one-row request with monitoring on and off (best of ``rounds``
    interleaved runs each) and their difference. Call it in a process whose metrics are in
    multiprocess mode to measure what a Gunicorn worker pays."""
    from app import create_app
    from bench.profile import run

    body = json.dumps({"features": features or ROWS[model]}).encode()
    path = f"/models/{model}/predict"
    apps = {setting: create_app({"MODEL_DIR": str(model_dir), "LOAD_IN_BACKGROUND": False, "LOG_LEVEL": "WARNING",
                                 "ACCESS_LOG": False, "DRIFT": setting, "WARNINGS": setting})
            for setting in (True, False)}
    for app in apps.values():
        run(app, path, body, 300)  # warm up
    best = {True: float("inf"), False: float("inf")}
    for _ in range(rounds):
        for setting, app in apps.items():
            best[setting] = min(best[setting], run(app, path, body, requests))
    on, off = best[True] * 1e6, best[False] * 1e6
    return {"model": model, "on_us": round(on, 1), "off_us": round(off, 1), "cost_us": round(on - off, 1),
            "cost_pct": round(100 * (on - off) / off, 1), "requests": requests, "rounds": rounds}


def components(model_dir, model="iris-mlp", features=None, number=20000):
    """Microseconds per one-row call of each part on its own (timeit, best of 3): binning the row,
    the range check, and the counter updates. Less disturbed by a noisy machine than ``cost``."""
    import timeit

    import numpy as np

    from inference import metrics
    from inference.core.manifest import read_manifest
    from inference.core.runtimes import runtime_for
    from inference.core.served import ServedModel

    served = ServedModel(runtime_for(read_manifest(os.path.join(model_dir, model, "1"))).load(),
                         observer=metrics.OBSERVER)
    metrics.OBSERVER.loaded(served)
    x = np.array([features or ROWS[model]], dtype=np.float64)
    monitor = served.monitor
    slots, rows = monitor.counts(x)
    parts = {"bins": lambda: monitor.counts(x), "range check": lambda: monitor.warnings(x),
             "counter updates": lambda: metrics.OBSERVER.observed(served, slots, rows)}
    return {name: round(min(timeit.repeat(f, number=number, repeat=3)) / number * 1e6, 2)
            for name, f in parts.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="iris-mlp", choices=sorted(ROWS))
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "artifacts"))
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="bench-metrics-")
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", folder)  # before prometheus_client is imported
    try:
        r = cost(args.model_dir, args.model, args.requests, args.rounds)
        parts = components(args.model_dir, args.model)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{r['model']}: {r['on_us']:.1f} µs per request with drift counting and warnings, {r['off_us']:.1f} µs "
          f"without: {r['cost_us']:+.1f} µs ({r['cost_pct']:+.1f}%), best of {r['rounds']} interleaved runs of "
          f"{r['requests']} one-row requests, in-process")
    print("  the parts alone (timeit, best of 3): " + ", ".join(f"{k} {v:.2f} µs" for k, v in parts.items())
          + f"; total {sum(parts.values()):.2f} µs")


if __name__ == "__main__":
    main()
