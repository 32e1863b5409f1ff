"""Render results (a table, JSON, CSV, a PNG plot). No measuring happens here."""

import csv
import json
from pathlib import Path

from loadtest.stats import PERCENTILES

LATENCY_KEYS = ["latency_mean_s"] + [f"latency_p{p:g}_s" for p in PERCENTILES] + ["latency_max_s"]
COLUMNS = ["processes", "requests", "throughput_rps", "errors"] + LATENCY_KEYS


def _ms(value):
    return "-" if value is None else f"{value * 1000:.1f}"


def table(rows, axis, knee=None):
    """A fixed-width text table, one row per sweep step; latencies in milliseconds."""
    head = [axis, "procs", "requests", "req/s", "errors"] + ["mean", *[f"p{p:g}" for p in PERCENTILES], "max"]
    lines = ["  ".join(f"{h:>9}" for h in head) + "   (latency in ms)"]
    for i, row in enumerate(rows):
        cells = [f"{row[axis]:g}", str(row.get("processes", 1)), str(row["requests"]), f"{row['throughput_rps']:.1f}",
                 str(row["errors"])]
        cells += [_ms(row[k]) for k in LATENCY_KEYS]
        mark = "   <- knee" if knee == i else ""
        lines.append("  ".join(f"{c:>9}" for c in cells) + mark)
    for row in rows:
        if row["errors"]:
            lines.append(f"{axis} {row[axis]:g}: errors by status {row['errors_by_status']}, "
                         f"by exception {row['errors_by_exception']}")
    return "\n".join(lines)


def write_json(path, result):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=2) + "\n")


def write_csv(path, rows, axis):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([axis, *COLUMNS, "errors_by_status", "errors_by_exception"])
        for row in rows:
            writer.writerow([row[axis], *[row.get(c) for c in COLUMNS],
                             json.dumps(row["errors_by_status"]), json.dumps(row["errors_by_exception"])])


def plot(path, rows, axis, title):
    """Latency percentiles (left) and throughput (right) against the swept quantity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [row[axis] for row in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=80)
    for key, label in (("latency_p50_s", "p50"), ("latency_p95_s", "p95"), ("latency_p99_s", "p99")):
        left.plot(xs, [(row[key] or 0) * 1000 for row in rows], marker="o", label=label)
    left.set_xlabel(axis)
    left.set_ylabel("latency (ms)")
    left.set_xscale("log", base=2)
    left.legend()
    left.grid(alpha=0.3)
    right.plot(xs, [row["throughput_rps"] for row in rows], marker="o", color="tab:green")
    right.set_xlabel(axis)
    right.set_ylabel("throughput (req/s)")
    right.set_xscale("log", base=2)
    right.set_ylim(bottom=0)
    right.grid(alpha=0.3)
    for ax in (left, right):
        ax.set_xticks(xs, [f"{x:g}" for x in xs])
        ax.minorticks_off()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
