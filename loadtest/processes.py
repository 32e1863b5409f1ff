"""Spread one step over several processes, each with its own interpreter lock, and merge their samples.

Python threads share one interpreter lock, so one process of clients tops out near one core.
Process k of n runs its share: in the closed loop every n-th client (and of ``-n`` requests,
its share of the count); in the open loop slots k, k+n, k+2n, ... of the one global schedule,
so each request's latency still counts from its intended send time. All processes start
from the same instant, and every sample comes back: percentiles of the merged run are exact.
"""

import contextlib
import math
import os
import time
import traceback
from dataclasses import dataclass, replace
from multiprocessing import connection as mp_connection
from multiprocessing import get_context

from loadtest.runner import closed_loop, open_loop
from loadtest.stats import Sample

CLIENTS_PER_PROCESS = 8  # closed loop: one more process for every 8 clients ...
RATE_PER_PROCESS = 1000.0  # ... open loop: for every 1,000 req/s ...
# ... and never more processes than cores: two clients' processes on one core only trade places.
START_LEAD_S = 0.05  # the shared start is this far after every process has reported ready
READY_TIMEOUT_S = 60.0  # a process that is not ready by then (import stuck) fails the run
POLL_S = 0.1  # how often the progress bar hears from the processes


@dataclass(frozen=True)
class Plan:
    """One step of a run: a closed loop of ``concurrency`` clients, or an open loop at ``rate``."""

    concurrency: int | None = None
    rate: float | None = None
    duration: float | None = None
    n_requests: int | None = None
    warmup: float = 0.0
    max_in_flight: int = 64

    @property
    def open(self):
        return self.rate is not None


@dataclass
class Result:
    """What a step measured: every sample, the measured seconds, and the tester's own CPU."""

    samples: list
    elapsed: float  # from the end of the warm-up to the last recorded answer
    wall_s: float  # from the shared start (warm-up included) to the last process's end
    process_cpu_s: list  # CPU seconds of each process that sent requests, over wall_s
    coordinator_cpu_s: float = 0.0  # CPU of this process when it only started and waited on the others


def cpu_count():
    """Cores this process may run on (its affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def process_count(plan, cores=None):
    """The default number of processes: one per 8 clients (closed loop) or per 1,000 req/s
    (open loop), at least 1, at most one per core, and never more than there are clients
    (or open-loop senders) to share."""
    cores = cpu_count() if cores is None else cores
    if plan.open:
        wanted, most = math.ceil(plan.rate / RATE_PER_PROCESS), plan.max_in_flight
    else:
        wanted, most = math.ceil(plan.concurrency / CLIENTS_PER_PROCESS), plan.concurrency
    return max(1, min(wanted, cores, most))


def split(total, parts):
    """``total`` as ``parts`` whole numbers that differ by at most one, largest first."""
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


def share(plan, k, n):
    """Process ``k``'s part of ``plan``: its clients and requests, or its senders (of ``n`` processes)."""
    if plan.open:
        return replace(plan, max_in_flight=split(plan.max_in_flight, n)[k])
    n_requests = None if plan.n_requests is None else split(plan.n_requests, n)[k]
    return replace(plan, concurrency=split(plan.concurrency, n)[k], n_requests=n_requests)


def run_share(target, plan, k=0, n=1, start=None, on_sample=None):
    """Run process ``k``'s share of ``plan`` in this process; return ``(samples, elapsed)``."""
    part = share(plan, k, n)
    on_sample = on_sample or _ignore
    if plan.open:
        return open_loop(target, part.rate, part.duration, part.warmup, part.max_in_flight, on_sample, start,
                         share=(k, n))
    return closed_loop(target, part.concurrency, part.duration, part.n_requests, part.warmup, on_sample, start)


def _ignore(sample):
    pass


def run(target, plan, processes=None, on_progress=None, watch=None):
    """Run ``plan`` over ``processes`` processes (default: :func:`process_count`); return a Result.

    ``on_progress(n)`` is told how many requests have been recorded so far; ``watch`` (a
    context manager, e.g. selfcheck.MachineWatch) is entered at the shared start and left at the end.
    """
    n = process_count(plan) if processes is None else processes
    if n < 1:
        raise ValueError("processes must be at least 1")
    n = min(n, plan.max_in_flight if plan.open else plan.concurrency)
    if n == 1:
        return _run_here(target, plan, on_progress, watch)
    return _run_spread(target, plan, n, on_progress, watch)


def _run_here(target, plan, on_progress, watch):
    count = 0

    def on_sample(sample):
        nonlocal count
        count += 1  # the bar is approximate under threads; the samples are exact
        if on_progress:
            on_progress(count)

    with watch or contextlib.nullcontext():
        wall0, cpu0 = time.perf_counter(), time.process_time()
        samples, elapsed = run_share(target, plan, on_sample=on_sample)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return Result(samples, elapsed, wall, [cpu])


def _run_spread(target, plan, n, on_progress, watch):
    ctx = get_context("spawn")  # a fresh interpreter: no inherited threads, locks or sockets
    progress = ctx.Array("q", n, lock=False)  # slot k: requests recorded by process k
    pipes, procs = [], []
    try:
        for k in range(n):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=_child, args=(target, plan, k, n, theirs, progress), daemon=True,
                               name=f"loadtest-{k}")
            proc.start()
            theirs.close()
            pipes.append(ours)
            procs.append(proc)
        for k in range(n):
            _expect(pipes[k], procs[k], "ready", READY_TIMEOUT_S)
        start_wall = time.time() + START_LEAD_S
        with watch or contextlib.nullcontext():
            cpu0 = time.process_time()
            for pipe in pipes:
                pipe.send(start_wall)
            replies = _collect(pipes, procs, progress, on_progress)
            wall, cpu = time.time() - start_wall, time.process_time() - cpu0
        for proc in procs:
            proc.join(10)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
        for pipe in pipes:
            pipe.close()
    samples = [Sample(*row) for _, rows in replies for row in rows]
    elapsed = max((s.done for s in samples), default=0.0)  # sample times count from the warm-up's end
    return Result(samples, elapsed, wall, [process_cpu for process_cpu, _ in replies], cpu)


def _expect(pipe, proc, what, timeout):
    """Wait for the message ``what`` from one process; raise if it fails or dies first."""
    if not pipe.poll(timeout):
        raise RuntimeError(f"load process {proc.name} not {what} after {timeout:.0f} s")
    kind, payload = _recv(pipe, proc)
    if kind != what:
        raise RuntimeError(f"load process {proc.name} sent {kind!r}, expected {what!r}")
    return payload


def _recv(pipe, proc):
    try:
        kind, payload = pipe.recv()
    except EOFError:
        proc.join(5)
        raise RuntimeError(f"load process {proc.name} ended (exit code {proc.exitcode}) before reporting; "
                           "a script that starts the tester needs an `if __name__ == '__main__':` guard") from None
    if kind == "error":
        raise RuntimeError(f"load process {proc.name} failed:\n{payload}")
    return kind, payload


def _collect(pipes, procs, progress, on_progress):
    """Every process's ``(cpu_s, sample rows)``, telling ``on_progress`` as they run."""
    replies = [None] * len(pipes)
    waiting = dict(enumerate(pipes))
    while waiting:
        # A pipe is ready when its process has sent its samples, or has died (EOF).
        for pipe in mp_connection.wait(list(waiting.values()), timeout=POLL_S):
            k = pipes.index(pipe)
            replies[k] = _recv(pipe, procs[k])[1]
            del waiting[k]
        if on_progress:
            on_progress(sum(progress))
    return replies


def _child(target, plan, k, n, pipe, progress):
    """Body of load process ``k``: report ready, wait for the start instant, run, send back samples."""
    try:
        pipe.send(("ready", None))
        start_wall = pipe.recv()
        # time.time() is shared by all processes; perf_counter() is ours alone, and steadier.
        start = time.perf_counter() + (start_wall - time.time())
        measure_from = start + plan.warmup
        recorded = 0

        def on_sample(sample):
            nonlocal recorded
            recorded += 1
            progress[k] = recorded

        cpu0 = time.process_time()
        samples, _ = run_share(target, plan, k, n, start, on_sample)
        cpu = time.process_time() - cpu0
        # Times relative to the shared measuring start, so that every process's samples line up.
        rows = [(s.intended - measure_from, s.sent - measure_from, s.done - measure_from, s.status, s.error)
                for s in samples]
        pipe.send(("done", (cpu, rows)))
    except BaseException:
        pipe.send(("error", traceback.format_exc()))
    finally:
        pipe.close()

