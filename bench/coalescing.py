"""Coalescing on against off, interleaved, on the wide MLP (one worker, 32 threads): the ratio of
requests per second at each concurrency, and the ratio of the best lone-request p50.

    python -m bench.coalescing [--rounds 3] [--duration 5] [--concurrency 1,32]

Each round measures on, then off, each on a fresh server; a setting keeps its best round (the
machine is shared and noisy: the best of several interleaved rounds is the least disturbed)."""

import argparse
import tempfile
from pathlib import Path

from bench.measure import measure, tool
from bench.models import build_wide_mlp
from inference.testing import GunicornServer


def run_rounds(model_dir, rounds, duration, levels):
    """``{(setting, concurrency): best measurement}`` over interleaved rounds of on and off."""
    best = {}
    for _ in range(rounds):
        for setting in ("1", "0"):
            with GunicornServer(model_dir, workers=1, threads=32, env={"COALESCE": setting}) as srv:
                for c in levels:
                    m = measure(srv.url + "/models/wide-mlp/predict", c, duration)
                    key = (setting, c)
                    print(f"  coalesce {'on ' if setting == '1' else 'off'} c={c:<3d} {m['rps']:8.1f} req/s  "
                          f"p50 {m['p50_ms']:7.2f} ms  p99 {m['p99_ms']:7.2f} ms  errors {m['errors']}", flush=True)
                    if key not in best or m["rps"] > best[key]["rps"]:
                        best[key] = m
    return best


def ratios(best, levels):
    """Per concurrency: on/off requests per second and on/off p50 (pure)."""
    return {c: {"on_rps": best[("1", c)]["rps"], "off_rps": best[("0", c)]["rps"],
                "rps_ratio": best[("1", c)]["rps"] / best[("0", c)]["rps"],
                "p50_ratio": best[("1", c)]["p50_ms"] / best[("0", c)]["p50_ms"]} for c in levels}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", default="1,32")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]
    model_dir = Path(tempfile.mkdtemp(prefix="bench-coalescing-"))
    build_wide_mlp(model_dir)
    print(f"coalescing: wide-mlp, 1 worker x 32 threads, load by {tool()}, {args.rounds} rounds x "
          f"{args.duration:g} s", flush=True)
    for c, r in ratios(run_rounds(model_dir, args.rounds, args.duration, levels), levels).items():
        print(f"c={c}: on {r['on_rps']:.1f} req/s, off {r['off_rps']:.1f} req/s: on/off {r['rps_ratio']:.2f}x "
              f"req/s, p50 on/off {r['p50_ratio']:.2f}")


if __name__ == "__main__":
    main()
