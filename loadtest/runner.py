"""Drive the load: closed loop (N clients back to back) or open loop (a fixed schedule).

One function sends one request and records it; the loops only decide when to call it.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from loadtest.stats import Sample


def send_one(target, session, intended=None):
    """Send one request and return its Sample; transport errors are recorded, never raised."""
    sent = time.perf_counter()
    try:
        response = target.send(session)
        _ = response.content  # read the whole body: the request is not over before that
        status, error = response.status_code, None
    except requests.RequestException as exc:
        status, error = None, type(exc).__name__
    done = time.perf_counter()
    return Sample(sent if intended is None else intended, sent, done, status, error)


def _noop(sample):
    pass


def closed_loop(target, concurrency, duration=None, n_requests=None, warmup=0.0, on_sample=_noop):
    """``concurrency`` clients, each with one keep-alive session, send back to back.

    The first ``warmup`` seconds are not recorded. Stops after ``duration`` seconds or
    ``n_requests`` recorded requests. Returns ``(samples, elapsed_seconds)``.
    """
    if (duration is None) == (n_requests is None):
        raise ValueError("give exactly one of duration or n_requests")
    samples = []
    lock = threading.Lock()
    issued = 0
    start = time.perf_counter()
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
        with requests.Session() as session:
            while time.perf_counter() < measure_from:
                send_one(target, session)
            while may_send():
                sample = send_one(target, session)
                samples.append(sample)
                on_sample(sample)

    with ThreadPoolExecutor(concurrency, thread_name_prefix="client") as pool:
        for future in [pool.submit(client) for _ in range(concurrency)]:
            future.result()
    elapsed = max((s.done for s in samples), default=measure_from) - measure_from
    return samples, elapsed


def open_loop(target, rate, duration, warmup=0.0, max_in_flight=64, on_sample=_noop):
    """Send at a constant ``rate`` per second for ``duration`` seconds after ``warmup``.

    Each request has an intended send time on the schedule, and its latency is measured from
    that time, so a server that stalls cannot hide the queue it causes (no coordinated
    omission), even when all ``max_in_flight`` senders are stuck. Returns
    ``(samples, elapsed_seconds)``.
    """
    interval = 1.0 / rate
    total = int(round(rate * (warmup + duration)))
    start = time.perf_counter() + 0.05
    measure_from = start + warmup
    samples = []
    local = threading.local()

    def task(intended):
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        sample = send_one(target, session, intended)
        if intended >= measure_from:
            samples.append(sample)
            on_sample(sample)

    with ThreadPoolExecutor(max_in_flight, thread_name_prefix="sender") as pool:
        for i in range(total):
            intended = start + i * interval
            delay = intended - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(task, intended)
    elapsed = max((s.done for s in samples), default=measure_from) - measure_from
    return samples, elapsed
