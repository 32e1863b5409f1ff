"""A WSGI app that counts the CPU its wrapped app spends inside each call, for ``bench.split``.

    BENCH_TIMED_APP=wsgi:app BENCH_CPU_DIR=/tmp/x gunicorn -c gunicorn.conf.py bench.timed_app:app

Each worker adds up the CPU time of the thread that runs the request (``time.thread_time``: other
threads and the time spent waiting are not counted) from the call until the body is complete and
the app's iterable closed, and every ``EVERY`` requests writes ``requests seconds`` to
``BENCH_CPU_DIR/<pid>``. The wrapper's own work outside that window is a dict update and, now and
then, one small file write.
"""

import importlib
import os
import threading
import time

EVERY = 256


class TimedApp:
    """``app``, with the thread CPU of its calls added up per process and written to ``folder``."""

    def __init__(self, app, folder, every=EVERY):
        self.app = app
        self.folder = folder
        self.every = every
        self.requests = 0
        self.seconds = 0.0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        started = time.thread_time()
        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        spent = time.thread_time() - started
        with self.lock:
            self.requests += 1
            self.seconds += spent
            if self.requests % self.every == 0:
                self.save()
        return [body]

    def save(self):
        """Write this process's totals (replacing what it wrote before)."""
        path = os.path.join(self.folder, str(os.getpid()))
        with open(path + ".tmp", "w") as fh:
            fh.write(f"{self.requests} {self.seconds!r}\n")
        os.replace(path + ".tmp", path)


def totals(folder):
    """``(requests, seconds)`` summed over the files the workers wrote to ``folder``."""
    requests, seconds = 0, 0.0
    for name in os.listdir(folder):
        if name.isdigit():
            with open(os.path.join(folder, name)) as fh:
                n, s = fh.read().split()
            requests += int(n)
            seconds += float(s)
    return requests, seconds


def load(spec):
    """The WSGI app named ``module:attribute``."""
    module, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module), attribute)


# What Gunicorn serves (``bench.timed_app:app``): the app BENCH_TIMED_APP names, wrapped; None when
# the module is imported without it (tests, bench.split itself).
app = TimedApp(load(os.environ["BENCH_TIMED_APP"]), os.environ["BENCH_CPU_DIR"]) if "BENCH_TIMED_APP" in os.environ \
    else None
