"""Where a one-row request's CPU goes in the running server: inside the Flask app, or around it.

    python -m bench.split [--duration 10] [-c 32] [--model iris-mlp]

Serves this server and the bare-Flask ceiling (``bench.ceiling``) in turn under the shipped
Gunicorn configuration, each app wrapped by ``bench.timed_app``, and loads each with wrk (or the
bundled load tester). For each it prints, per answered request:

- the workers' CPU (user + system of the master and its workers over the run);
- the part spent inside the app (the request thread's CPU from the WSGI call to the end of the
  body: Flask, the hooks, validation, the model, metrics, the access log);
- the rest, around the app: Gunicorn reading, parsing and writing, its thread hand-offs, the
  kernel's share of the socket work, and anything the worker's other threads do;
- the app's CPU when called in a loop in one process (``bench.profile``): no network, no other
  threads, warm caches. The same code costs more in the server, where it shares the cores with
  the load generator and the kernel's network work.

Measured on the same machine in the same run, so the two servers compare; their absolute numbers
depend on the machine.
"""

import argparse
import json
import os
import sys
import tempfile

from bench import timed_app
from bench.ab import cpu_seconds
from bench.measure import measure
from bench.profile import ROWS, run, stderr_to_file
from inference.testing import GunicornServer

APPS = {  # label: (WSGI app, path of the one-row request)
    "this server": ("wsgi:app", "/models/{model}/predict"),
    "bare-Flask ceiling": ("bench.ceiling:app", "/predict"),
}


def in_a_loop(spec, path, body, model_dir, requests=3000):
    """The app's CPU per request, best of three loops of ``requests`` calls in this process."""
    with stderr_to_file():
        if spec == "wsgi:app":  # the same app, its models loaded before the first call
            from app import create_app

            app = create_app({"MODEL_DIR": model_dir, "LOAD_IN_BACKGROUND": False})
        else:
            app = timed_app.load(spec)
        run(app, path, body, 300)
        return min(run(app, path, body, requests) for _ in range(3))


def in_the_server(spec, path, body_file, model_dir, concurrency, duration):
    """Requests/s and the CPU split of the app served by Gunicorn (this server's configuration)."""
    with tempfile.TemporaryDirectory(prefix="bench-split-") as folder:
        env = {"BENCH_TIMED_APP": spec, "BENCH_CPU_DIR": folder}
        with GunicornServer(model_dir, workers=None, threads=None, env=env, app="bench.timed_app:app",
                            ready_path="/ready" if spec == "wsgi:app" else path) as srv:
            url = srv.url + path
            measure(url, concurrency, 2, body_file, warmup=0)  # warm-up, outside the count
            pids = [srv.proc.pid, *srv.worker_pids()]
            before_cpu = cpu_seconds(pids)
            before_requests, before_seconds = timed_app.totals(folder)
            m = measure(url, concurrency, duration, body_file, warmup=0)
            workers = cpu_seconds(pids) - before_cpu
            requests, seconds = timed_app.totals(folder)
        app_requests = requests - before_requests
        if m["errors"] or not app_requests:
            raise RuntimeError(f"{spec}: {m['errors']} errors, {app_requests} requests counted in the app")
        return {"rps": m["rps"], "worker_us": workers / m["requests"] * 1e6,
                "app_us": (seconds - before_seconds) / app_requests * 1e6}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="iris-mlp", choices=sorted(ROWS))
    parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "artifacts"))
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("-c", "--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    body = json.dumps({"features": ROWS[args.model]}).encode()
    rows = []
    with tempfile.NamedTemporaryFile(suffix=".json") as body_file:
        body_file.write(body)
        body_file.flush()
        for label, (spec, path) in APPS.items():
            path = path.format(model=args.model)
            print(f"{label}: {spec} {path} at c={args.concurrency} for {args.duration:g} s ...", file=sys.stderr)
            served = in_the_server(spec, path, body_file.name, args.model_dir, args.concurrency, args.duration)
            served["loop_us"] = in_a_loop(spec, path, body, args.model_dir) * 1e6
            rows.append((label, served))
    print(f"\nCPU per one-row request ({args.model}, c={args.concurrency}, shipped worker defaults), µs\n")
    print("| app | req/s | workers' CPU | in the app | around the app | the app in a loop |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, r in rows:
        print(f"| {label} | {r['rps']:.0f} | {r['worker_us']:.0f} | {r['app_us']:.0f} | "
              f"{r['worker_us'] - r['app_us']:.0f} | {r['loop_us']:.0f} |")


if __name__ == "__main__":
    main()
