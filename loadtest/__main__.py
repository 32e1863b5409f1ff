"""python -m loadtest URL [options]: latency percentiles and throughput of an HTTP endpoint.

Examples:
  python -m loadtest http://127.0.0.1:8000/predict --body '{"features": [5.1, 3.5, 1.4, 0.2]}' -c 1,8,32 -t 10
  python -m loadtest http://127.0.0.1:8000/predict --body-file row.json --rate 100,200,400 -t 10
  python -m loadtest http://127.0.0.1:8000/models/digits-cnn/predict --image digit.png -c 4 -n 1000
"""

import argparse
import contextlib
import sys
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
from tqdm import tqdm

from loadtest import processes, report
from loadtest.selfcheck import MachineWatch, cores_used, warnings_for
from loadtest.stats import find_knee, summarize
from loadtest.target import build_target


def _numbers(text, kind):
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma list of numbers") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError("values must be positive")
    return values


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv):
    """The command line of python -m loadtest."""
    p = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__.splitlines()[0],
                                epilog="\n".join(__doc__.splitlines()[2:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url")
    p.add_argument("-X", "--method", default="POST")
    p.add_argument("-H", "--header", action="append", default=[], help="'Name: value' (repeatable)")
    p.add_argument("--api-key", help="sent as 'Authorization: Bearer KEY'")
    body = p.add_mutually_exclusive_group()
    body.add_argument("--body", help="inline JSON payload")
    body.add_argument("--body-file", help="file holding the JSON payload")
    body.add_argument("--image", help="image file sent as multipart field 'file'")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("-c", "--concurrency", type=lambda v: _numbers(v, int),
                      help="closed loop: comma list of client counts (a sweep; default 1)")
    mode.add_argument("--rate", type=lambda v: _numbers(v, float), help="open loop: comma list of req/s")
    stop = p.add_mutually_exclusive_group()
    stop.add_argument("-t", "--duration", type=float, help="seconds measured per step (default 10)")
    stop.add_argument("-n", "--requests", type=int, help="requests measured per step (closed loop)")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds per step not recorded (default 1)")
    p.add_argument("--timeout", type=float, default=10.0, help="per-request timeout in seconds (default 10)")
    p.add_argument("--max-in-flight", type=int, default=64, help="open loop: most requests at once (default 64)")
    p.add_argument("-p", "--processes", type=_positive_int, metavar="N",
                   help="client processes per step (default: one per 8 clients or 1,000 req/s, at most one per core)")
    p.add_argument("--json", dest="json_out", metavar="FILE", help="write the results as JSON")
    p.add_argument("--csv", dest="csv_out", metavar="FILE", help="write one CSV row per step")
    p.add_argument("--plot", metavar="FILE.png", help="plot latency percentiles and throughput per step")
    p.add_argument("--no-progress", action="store_true", help="no live progress bar (default when not a terminal)")
    p.add_argument("--serve", action="store_true",
                   help="start this project's server on the URL's loopback port if nothing answers there")
    args = p.parse_args(argv)
    if args.requests is not None and args.rate:
        p.error("-n/--requests is for the closed loop; use --duration with --rate")
    if args.duration is None and args.requests is None:
        args.duration = 10.0
    args.no_progress = args.no_progress or not sys.stderr.isatty()
    return args


def run_step(target, args, value, open_mode):
    """Run one step of the sweep and return its summary row."""
    plan = processes.Plan(concurrency=None if open_mode else int(value), rate=value if open_mode else None,
                          duration=args.duration, n_requests=args.requests, warmup=args.warmup,
                          max_in_flight=args.max_in_flight)
    bar = tqdm(total=args.requests, unit="req", desc=f"{'rate' if open_mode else 'clients'} {value:g}",
               disable=args.no_progress, leave=False, dynamic_ncols=True)
    watch = MachineWatch()
    with bar:
        result = processes.run(target, plan, args.processes, lambda done: bar.update(done - bar.n), watch)
    total, busiest = cores_used(result)
    n = len(result.process_cpu_s)
    row = {"rate" if open_mode else "concurrency": value, **summarize(result.samples, result.elapsed),
           "processes": n, "tester_cpu_cores": round(total, 3), "tester_busiest_process_cores": round(busiest, 3),
           "machine_cpu_busy": round(watch.busy, 3)}
    row["warnings"] = warnings_for(total, busiest, n, watch.busy, watch.cores, result.samples, open_mode)
    return row


@contextlib.contextmanager
def maybe_serve(url, wanted):
    """Start the bundled server on the URL's port when asked and nothing answers there."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    try:
        requests.get(origin + "/health", timeout=2)
        running = True
    except requests.RequestException:
        running = False
    if running or not wanted:
        yield None
        return
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"--serve only starts a server on loopback, not {parts.hostname}")
    from inference import config
    from inference.testing import GunicornServer

    # the server's own defaults (WEB_CONCURRENCY, GUNICORN_THREADS, MODEL_DIR), read the one way
    workers, threads = config.server_sizes(config.load(scope=config.SERVER))
    server = GunicornServer(config.model_dir(), workers=None, threads=None, port=parts.port or 80)
    print(f"starting the server on {origin} ({workers} workers x {threads} threads) ...", file=sys.stderr)
    with server:
        yield server


def main(argv=None):
    """Run every step, print the table and the self-check, write the requested files."""
    args = parse_args(argv)
    target = build_target(args.url, args.method, args.header, args.body, args.body_file, args.image,
                          args.api_key, args.timeout)
    open_mode = bool(args.rate)
    axis = "rate" if open_mode else "concurrency"
    values = args.rate or args.concurrency or [1]
    rows = []
    with maybe_serve(args.url, args.serve):
        for value in values:
            rows.append(run_step(target, args, value, open_mode))
    knee = find_knee(rows)
    print(report.table(rows, axis, knee))
    if knee is not None:
        print(f"knee: {axis} {rows[knee][axis]:g} (p99 at least doubled, faster than throughput, "
              "or errors rose by 1 point or more)")
    for row in rows:
        for note in row["warnings"]:
            print(f"warning ({axis} {row[axis]:g}): {note}")
    result = {"url": args.url, "method": target.method, "mode": "open" if open_mode else "closed",
              "date": datetime.now(UTC).isoformat(timespec="seconds"), "warmup_s": args.warmup,
              "duration_s": args.duration, "requests_per_step": args.requests,
              "knee": None if knee is None else rows[knee][axis], "steps": rows}
    if args.json_out:
        report.write_json(args.json_out, result)
    if args.csv_out:
        report.write_csv(args.csv_out, rows, axis)
    if args.plot:
        report.plot(args.plot, rows, axis, f"{target.method} {args.url}  ({result['mode']} loop, {result['date']})")
    return result


if __name__ == "__main__":
    main()
