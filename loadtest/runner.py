"""Drive the load from one process: closed loop (N clients back to back) or open loop (a fixed schedule).

One function sends one request and records it; the loops only decide when to call it. Several
processes can share one run (loadtest.processes): each runs these loops on its share of the
clients or of the schedule, from the same start instant.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from loadtest.client import TransportError
from loadtest.stats import Sample

OPEN_LOOP_LEAD_S = 0.05  # the schedule starts this long after open_loop is called


def send_one(target, connection, intended=None):
    """Send one request and return its Sample; transport errors are recorded, never raised."""
    sent = time.perf_counter()
    try:
        status, error = target.send(connection), None
    except TransportError as exc:
        status, error = None, type(exc).__name__
    done = time.perf_counter()
    return Sample(sent if intended is None else intended, sent, done, status, error)


def _noop(sample):
    pass


def closed_loop(target, concurrency, duration=None, n_requests=None, warmup=0.0, on_sample=_noop, start=None):
    """``concurrency`` clients, each with one keep-alive connection, send back to back.

    The first ``warmup`` seconds are not recorded. Stops after ``duration`` seconds or
    ``n_requests`` recorded requests. ``start`` (a ``time.perf_counter()`` instant, default now)
    lets processes that share a run begin together. Returns ``(samples, elapsed_seconds)``.
    """
    if (duration is None) == (n_requests is None):
        raise ValueError("give exactly one of duration or n_requests")
    samples = []
    lock = threading.Lock()
    issued = 0
    start = time.perf_counter() if start is None else start
    measure_from = start + warmup
    end = measure_from + duration if duration is not None else None

    def may_send():
        nonlocal issued
        if end is not None:
            return time.perf_counter() < end
        with lock:
            if issued >= n_requests:
                return False
            issued += 1
            return True

    def client():
        with target.connect() as connection:
            _sleep_until(start)
            while time.perf_counter() < measure_from:
                send_one(target, connection)
            while may_send():
                sample = send_one(target, connection)
                samples.append(sample)
                on_sample(sample)

    with ThreadPoolExecutor(concurrency, thread_name_prefix="client") as pool:
        for future in [pool.submit(client) for _ in range(concurrency)]:
            future.result()
    elapsed = max((s.done for s in samples), default=measure_from) - measure_from
    return samples, elapsed


def open_loop(target, rate, duration, warmup=0.0, max_in_flight=64, on_sample=_noop, start=None, share=(0, 1)):
    """Send at a constant ``rate`` per second for ``duration`` seconds after ``warmup``.

    Each request has an intended send time on the schedule, and its latency is measured from
    that time, so a server that stalls cannot hide the queue it causes (no coordinated
    omission), even when all ``max_in_flight`` senders are stuck. ``share=(k, n)``: send only
    slots k, k+n, k+2n, ... of the schedule (process k of n); ``start``: the schedule's first
    slot (a ``time.perf_counter()`` instant). Returns ``(samples, elapsed_seconds)``.
    """
    index, of = share
    interval = 1.0 / rate
    total = int(round(rate * (warmup + duration)))
    start = time.perf_counter() + OPEN_LOOP_LEAD_S if start is None else start
    measure_from = start + warmup
    samples = []
    local = threading.local()
    connections = []

    def task(intended):
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = target.connect()
            connections.append(connection)
        sample = send_one(target, connection, intended)
        if intended >= measure_from:
            samples.append(sample)
            on_sample(sample)

    try:
        with ThreadPoolExecutor(max_in_flight, thread_name_prefix="sender") as pool:
            for i in range(index, total, of):
                intended = start + i * interval
                _sleep_until(intended)
                pool.submit(task, intended)
    finally:
        for connection in connections:
            connection.close()
    elapsed = max((s.done for s in samples), default=measure_from) - measure_from
    return samples, elapsed


def _sleep_until(instant):
    delay = instant - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
