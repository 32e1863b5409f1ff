"""Pure functions over recorded samples: percentiles, summaries, the knee of a sweep.

Percentiles are exact, computed from every sample by the nearest-rank method: p99 is the
smallest recorded latency that at least 99% of the samples do not exceed.
"""

import math
from collections import Counter
from dataclasses import dataclass

PERCENTILES = (50, 90, 95, 99, 99.9)
KNEE_P99_FACTOR = 2.0  # p99 at least doubles from one step to the next ...
KNEE_OUTPACE = 1.5  # ... and grows 1.5 times faster than throughput (queueing, not more work done)
KNEE_ERROR_JUMP = 0.01  # or the error rate rises by a percentage point or more


@dataclass(frozen=True)
class Sample:
    """One request: when it was meant to go, when it went, when it ended, and how."""

    intended: float  # open loop: its slot in the schedule; closed loop: equal to ``sent``
    sent: float
    done: float
    status: int | None  # HTTP status, or None when an exception ended it
    error: str | None = None  # exception class name

    @property
    def latency(self):
        """Seconds from the intended send time to the end (includes any wait in the tester)."""
        return self.done - self.intended

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (``p`` in 0..100]; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(samples, elapsed):
    """Requests, throughput, errors by kind, and latency statistics (seconds) of one run.

    Latency covers every request that got an HTTP answer, errors included; requests ended by
    an exception count as errors only.
    """
    latencies = sorted(s.latency for s in samples if s.status is not None)
    statuses = Counter(str(s.status) for s in samples if s.status is not None and not s.ok)
    exceptions = Counter(s.error for s in samples if s.status is None)
    n = len(samples)
    errors = sum(statuses.values()) + sum(exceptions.values())
    summary = {
        "requests": n,
        "ok": n - errors,
        "errors": errors,
        "error_rate": errors / n if n else 0.0,
        "errors_by_status": dict(sorted(statuses.items())),
        "errors_by_exception": dict(sorted(exceptions.items())),
        "elapsed_s": elapsed,
        "throughput_rps": n / elapsed if elapsed > 0 else 0.0,
        "latency_mean_s": sum(latencies) / len(latencies) if latencies else None,
        "latency_max_s": latencies[-1] if latencies else None,
    }
    for p in PERCENTILES:
        summary[f"latency_p{p:g}_s"] = percentile(latencies, p)
    return summary


def find_knee(rows):
    """Index of the first sweep row where p99 jumps (at least doubles, and faster than throughput
    grows) or the error rate jumps; None when the sweep has no such step."""
    for i in range(1, len(rows)):
        before, after = rows[i - 1], rows[i]
        p99_before, p99_after = before.get("latency_p99_s"), after.get("latency_p99_s")
        if p99_before and p99_after and before["throughput_rps"] > 0:
            p99_ratio = p99_after / p99_before
            throughput_ratio = after["throughput_rps"] / before["throughput_rps"]
            if p99_ratio >= KNEE_P99_FACTOR and p99_ratio >= KNEE_OUTPACE * throughput_ratio:
                return i
        if after["error_rate"] - before["error_rate"] >= KNEE_ERROR_JUMP:
            return i
    return None
