"""Is the tester itself the bottleneck? Its CPU use, the machine's, and how late it sent."""

import os
import time

import psutil

# Python threads share one interpreter lock, so the tester's useful ceiling is about one core.
TESTER_SATURATED_CORES = 0.7
MACHINE_SATURATED = 0.85
LATE_SEND_S = 0.010


class CpuWatch:
    """Measure this process's CPU time and the machine's CPU use over a block of code."""

    def __enter__(self):
        self._proc = psutil.Process()
        self._cpu0 = sum(self._proc.cpu_times()[:2])
        self._t0 = time.perf_counter()
        psutil.cpu_percent(None)  # start the machine-wide counter
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self._t0
        self.tester_cores = (sum(self._proc.cpu_times()[:2]) - self._cpu0) / wall if wall > 0 else 0.0
        self.machine_busy = psutil.cpu_percent(None) / 100.0
        self.cores = os.cpu_count() or 1


def warnings_for(watch, samples, open_loop):
    """Human-readable warnings when the tester, not the server, may be what limits the numbers."""
    notes = []
    if watch.tester_cores >= TESTER_SATURATED_CORES:
        notes.append(f"the tester used {watch.tester_cores:.2f} cores (one interpreter lock: it rarely gets "
                     "past 0.8): it is saturated, "
                     "so throughput is a lower bound and latency includes the tester's own queueing")
    if watch.machine_busy >= MACHINE_SATURATED:
        notes.append(f"the machine was {watch.machine_busy:.0%} busy over {watch.cores} cores: the tester and the "
                     "server competed for CPU")
    if open_loop and samples:
        late = sum(1 for s in samples if s.sent - s.intended > LATE_SEND_S)
        if late / len(samples) > 0.01:
            notes.append(f"{late} of {len(samples)} requests left more than {LATE_SEND_S * 1000:.0f} ms after their "
                         "scheduled time (all senders busy or the tester short of CPU); their latency counts "
                         "from the schedule")
    return notes
