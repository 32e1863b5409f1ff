"""Steady background load for the operations tests: threads posting until told to stop."""

import threading
import time
from collections import Counter

import requests


def wait_for(condition, timeout, interval=0.1):
    """Poll ``condition()`` until it holds or ``timeout`` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


class SteadyLoad:
    """``threads`` clients, each with a keep-alive session, posting ``body`` to ``url`` in a loop."""

    def __init__(self, url, body, threads=4, timeout=10):
        self.url, self.body, self.timeout = url, body, timeout
        self.outcomes = Counter()  # "200", "503", "ConnectionError", ...
        self.versions = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    r = session.post(self.url, json=self.body, timeout=self.timeout)
                    outcome, version = str(r.status_code), r.headers.get("X-Model-Version")
                except requests.RequestException as exc:
                    outcome, version = type(exc).__name__, None
                with self._lock:
                    self.outcomes[outcome] += 1
                    if version:
                        self.versions[version] += 1

    @property
    def total(self):
        return sum(self.outcomes.values())

    @property
    def failures(self):
        return self.total - self.outcomes["200"]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def run_until(self, condition, timeout):
        """Wait until ``condition()`` holds or ``timeout`` passes; return whether it held."""
        return wait_for(condition, timeout, interval=0.05)
