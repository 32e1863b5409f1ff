"""Is the tester itself the bottleneck? Its CPU (all its processes), the machine's, how late it sent."""

import psutil

from loadtest.processes import cpu_count

# Python threads share one interpreter lock, so one load process's useful ceiling is about one core.
PROCESS_SATURATED_CORES = 0.7
# Past half the cores, the tester takes CPU that the server on the same machine would have used.
TESTER_SHARE_OF_CORES = 0.5
MACHINE_SATURATED = 0.85
LATE_SEND_S = 0.010


class MachineWatch:
    """How busy the whole machine was over a block of code (0..1, all cores)."""

    def __enter__(self):
        psutil.cpu_percent(None)  # start the machine-wide counter
        return self

    def __exit__(self, *exc):
        self.busy = psutil.cpu_percent(None) / 100.0
        self.cores = cpu_count()


def cores_used(result):
    """``(all, busiest)``: cores the tester's processes used together, and its busiest load process."""
    if result.wall_s <= 0:
        return 0.0, 0.0
    total = (sum(result.process_cpu_s) + result.coordinator_cpu_s) / result.wall_s
    return total, max(result.process_cpu_s, default=0.0) / result.wall_s


def warnings_for(total_cores, busiest_cores, processes, machine_busy, cores, samples, open_loop):
    """Human-readable warnings when the tester, not the server, may be what limits the numbers."""
    notes = []
    if busiest_cores >= PROCESS_SATURATED_CORES:
        more = " (try more with --processes)" if processes < cores else ""
        notes.append(f"a load process used {busiest_cores:.2f} cores, near the one core its interpreter lock "
                     f"allows ({processes} process{'es' if processes > 1 else ''}{more}): the tester is saturated, "
                     "so throughput is a lower bound and latency includes the tester's own queueing")
    if total_cores >= TESTER_SHARE_OF_CORES * cores:
        notes.append(f"the tester used {total_cores:.2f} of {cores} cores: it took CPU the server would have used, "
                     "so throughput is a lower bound of the server's")
    if machine_busy >= MACHINE_SATURATED:
        notes.append(f"the machine was {machine_busy:.0%} busy over {cores} cores: the tester and the "
                     "server competed for CPU")
    if open_loop and samples:
        late = sum(1 for s in samples if s.sent - s.intended > LATE_SEND_S)
        if late / len(samples) > 0.01:
            notes.append(f"{late} of {len(samples)} requests left more than {LATE_SEND_S * 1000:.0f} ms after their "
                         "scheduled time (all senders busy or the tester short of CPU); their latency counts "
                         "from the schedule")
    return notes
