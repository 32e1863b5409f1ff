"""Testing helpers: start a real Gunicorn (``gunicorn.conf.py`` + ``wsgi:app``) on a free loopback port.

Used by the end-to-end tests, the load tester's ``--serve`` and the benchmarks; never by the server itself."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from inference import config

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_sizes(environ):
    """``(workers, threads)`` that ``gunicorn.conf.py`` gives under ``environ``."""
    return config.server_sizes(config.load(scope=config.SERVER, environ=environ))


class GunicornServer:
    """A Gunicorn master and its workers, started from the repository root, stopped on exit."""

    def __init__(self, model_dir, workers=2, threads=2, env=None, log_path=None, plain=False, port=None,
                 app="wsgi:app", ready_path="/ready"):
        """``plain=True`` runs ``gunicorn -w N -b ... APP`` without our config file. ``workers`` or
        ``threads`` None leaves that setting to the server's default (or to ``env``)."""
        self.port = port or free_port()
        self.plain = plain
        self.app = app
        self.ready_path = ready_path
        self.url = f"http://127.0.0.1:{self.port}"
        sizes = {"WEB_CONCURRENCY": workers, "GUNICORN_THREADS": threads}
        self.env = {
            **os.environ,
            "MODEL_DIR": str(model_dir),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            **{name: str(value) for name, value in sizes.items() if value is not None},
            "LOG_LEVEL": "INFO",
            **(env or {}),
        }
        self.workers = workers or server_sizes(self.env)[0]
        self.log_path = log_path
        self.proc = None

    def start(self, timeout=60, wait=True):
        """Start the master and (unless ``wait=False``) wait until every worker answers /ready."""
        self._log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL
        if self.plain:
            args = ["-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "--no-control-socket"]
        else:
            args = ["-c", "gunicorn.conf.py"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *args, self.app],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() can take the workers down too
        )
        if wait:
            try:
                self.wait_ready(timeout)
            except BaseException:  # never leave a master listening when the caller gets no object to stop
                self.stop()
                raise
        return self

    def wait_ready(self, timeout=60):
        """Poll /ready until it answers 200 and all workers are up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                if requests.get(self.url + self.ready_path, timeout=2).status_code < 500 and \
                        len(self.worker_pids()) == self.workers:
                    return
            except requests.RequestException:  # not listening yet, or no worker free yet
                pass
            time.sleep(0.1)
        raise TimeoutError(f"gunicorn not ready after {timeout}s; log: {self.log_path}")

    def worker_pids(self):
        """PIDs of the master's live worker processes."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []

    def stop(self, timeout=30):
        """SIGTERM the master and wait for it; past ``timeout``, SIGKILL the master and its workers."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.log_path and self._log:
            self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
