"""Steady load through the proxy while one replica stops and starts again; counts what failed.

Used by tests/deploy/test_failover.py (two Gunicorns) and ``make image-test`` (two containers).
"""

import re
import threading
import time
from dataclasses import dataclass, field

import requests

ROW = {"features": [5.1, 3.5, 1.4, 0.2]}


@dataclass
class LoadResult:
    """What the load saw: answers by status, and the failures (status or exception) in order."""

    statuses: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self):
        """Requests sent."""
        return sum(self.statuses.values())

    @property
    def failed(self):
        """Requests that did not get a 200."""
        return len(self.failures)


class SteadyLoad:
    """``clients`` threads, each POSTing one row after another on its own keep-alive session."""

    def __init__(self, url, clients=4, max_requests=50_000, timeout=10):
        self.url, self.clients, self.max_requests, self.timeout = url, clients, max_requests, timeout
        self.result = LoadResult()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = []

    def _client(self):
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    status = session.post(self.url, json=ROW, timeout=self.timeout).status_code
                    problem = None if status == 200 else status
                except requests.RequestException as exc:
                    status, problem = "error", f"{type(exc).__name__}: {exc}"
                with self._lock:
                    self.result.statuses[status] = self.result.statuses.get(status, 0) + 1
                    if problem is not None:
                        self.result.failures.append(problem)
                    if self.result.total >= self.max_requests:
                        self._stop.set()

    def start(self):
        """Start the clients."""
        self._started = time.monotonic()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.clients)]
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        """Stop the clients and return the result."""
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 5)
        self.result.seconds = time.monotonic() - self._started
        return self.result


def stop_and_restart_under_load(url, stop_replica, start_replica, back_in_rotation, settle=1.5, clients=4,
                                max_requests=50_000, rejoin_timeout=15):
    """Load ``url``; after ``settle`` s call ``stop_replica()``, ``settle`` s later ``start_replica()``,
    then keep the load on until ``back_in_rotation()`` is true (at most ``rejoin_timeout`` s).

    Returns (LoadResult, timings): seconds to stop, to restart until ready, to rejoin the rotation.
    """
    load = SteadyLoad(url, clients=clients, max_requests=max_requests).start()
    timings = {}
    try:
        time.sleep(settle)
        started = time.monotonic()
        stop_replica()
        timings["stop_s"] = time.monotonic() - started
        time.sleep(settle)
        started = time.monotonic()
        start_replica()
        timings["start_s"] = time.monotonic() - started
        # The proxy skips a replica for its fail_timeout after a failed connection, then tries again.
        started = time.monotonic()
        while not back_in_rotation() and time.monotonic() - started < rejoin_timeout:
            time.sleep(0.2)
        timings["rejoin_s"] = time.monotonic() - started
    finally:
        result = load.stop()
    return result, timings


def predictions_served(metrics_text):
    """Successful POST /predict requests a replica counted in its Prometheus text (0 when none)."""
    total = 0.0
    for line in metrics_text.splitlines():
        if line.startswith("inference_requests_total{") and 'route="/predict"' in line and 'status="200"' in line:
            total += float(re.split(r"\s+", line.strip())[-1])
    return int(total)
