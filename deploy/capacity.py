"""Capacity planning from ``make bench``'s results: replicas and cores for a request rate at a p99.

``python -m deploy.capacity [results/bench-*.json]`` prints the table of docs/deploying.md from
the newest (or the named) bench results.

Method: for each model, take the measured point (one concurrency level of this server) with the
highest throughput whose p99 meets the target; its req/s divided by the machine's cores is the
per-core rate. A replica of ``cores_per_replica`` cores (one Gunicorn worker per core) is planned
at ``utilisation`` of that rate, so that p99 stays near the measured point and bursts have room,
and ``spare`` replicas are added so that losing one (a node, a rollout) keeps the capacity.
"""

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

TARGETS_RPS = (100, 1_000, 10_000)
P99_TARGET_MS = 10.0
CORES_PER_REPLICA = 2
UTILISATION = 0.6
SPARE = 1
MIN_REPLICAS = 2


@dataclass(frozen=True)
class OperatingPoint:
    """One measured load level of one model on ``cores`` cores."""

    scenario: str
    concurrency: int
    rps: float
    p99_ms: float
    cores: int

    @property
    def per_core_rps(self):
        """Requests per second per core at this point."""
        return self.rps / self.cores


def operating_point(results, scenario, cores, p99_target_ms=P99_TARGET_MS, server="server"):
    """The highest-throughput point of ``scenario`` whose p99 meets the target, or None."""
    fitting = [r for r in results if r["server"] == server and r["scenario"] == scenario
               and not r.get("errors") and r["p99_ms"] <= p99_target_ms]
    if not fitting:
        return None
    best = max(fitting, key=lambda r: r["rps"])
    return OperatingPoint(scenario, best["concurrency"], best["rps"], best["p99_ms"], cores)


def plan(target_rps, point, cores_per_replica=CORES_PER_REPLICA, utilisation=UTILISATION, spare=SPARE,
         min_replicas=MIN_REPLICAS):
    """Replicas and cores that serve ``target_rps`` at ``point``'s p99, with ``spare`` replicas to lose."""
    per_replica = point.per_core_rps * cores_per_replica * utilisation
    replicas = max(min_replicas, math.ceil(target_rps / per_replica) + spare)
    return {"target_rps": target_rps, "replicas": replicas, "cores": replicas * cores_per_replica,
            "per_replica_rps": per_replica, "p99_ms": point.p99_ms}


def table(points, targets=TARGETS_RPS, **plan_args):
    """A Markdown table: one row per model, replicas x cores for each target rate."""
    head = "| model | measured req/s per core (c, p99) | " + " | ".join(f"{t:,} req/s" for t in targets) + " |"
    lines = [head, "|---|---|" + "---|" * len(targets)]
    for point in points:
        cells = []
        for target in targets:
            p = plan(target, point, **plan_args)
            cells.append(f"{p['replicas']} × {plan_args.get('cores_per_replica', CORES_PER_REPLICA)} cores "
                         f"({p['cores']})")
        lines.append(f"| {point.scenario} | {point.per_core_rps:,.0f} (c={point.concurrency}, "
                     f"p99 {point.p99_ms:.1f} ms) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    """Print the capacity table from a bench results file."""
    parser = argparse.ArgumentParser(prog="python -m deploy.capacity", description=__doc__.splitlines()[0])
    parser.add_argument("bench", nargs="?", help="results/bench-*.json (default: the newest)")
    parser.add_argument("--p99-ms", type=float, default=P99_TARGET_MS)
    parser.add_argument("--models", default="iris-mlp,iris-rf,diabetes-risk")
    args = parser.parse_args(argv)
    path = Path(args.bench) if args.bench else max(Path("results").glob("bench-*.json"), default=None)
    if path is None:
        parser.error("no results/bench-*.json: run make bench first, or name a file")
    data = json.loads(path.read_text())
    points = [operating_point(data["results"], m, data["cores"], args.p99_ms) for m in args.models.split(",")]
    missing = [m for m, p in zip(args.models.split(","), points, strict=True) if p is None]
    print(f"from {path} ({data['cores']} cores, {data.get('tool', '?')}), p99 target {args.p99_ms:g} ms, "
          f"{CORES_PER_REPLICA}-core replicas at {UTILISATION:.0%} of the measured rate, +{SPARE} spare\n")
    print(table([p for p in points if p]))
    for m in missing:
        print(f"\n{m}: no measured point meets p99 <= {args.p99_ms:g} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
