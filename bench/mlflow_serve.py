"""``mlflow models serve`` on a free loopback port, from its own virtual environment.

MLflow's server package needs ``gunicorn<27``, which this project cannot share (it runs on
Gunicorn 27), so ``make bench`` installs it into ``.venv-mlflow`` from ``bench/mlflow-requirements.txt``
(exact pins) and this class runs it from there, ``--env-manager local``.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from inference.testing import ROOT, free_port

VENV = ROOT / ".venv-mlflow"


def available():
    """True when ``.venv-mlflow`` has the ``mlflow`` command."""
    return (VENV / "bin" / "mlflow").exists()


class MlflowServer:
    """``mlflow models serve -m MODEL -w N --env-manager local`` on 127.0.0.1; stopped by its PID."""

    def __init__(self, model_path, workers=2, log_path=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [str(VENV / "bin" / "mlflow"), "models", "serve", "-m", str(model_path), "-w", str(workers),
                    "-h", "127.0.0.1", "-p", str(self.port), "--env-manager", "local"]
        self.log_path = Path(log_path) if log_path else None
        self.proc = None

    def __enter__(self):
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL
        env = {**os.environ, "PATH": f"{VENV / 'bin'}:{os.environ.get('PATH', '')}"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow models serve exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                if requests.get(self.url + "/ping", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.__exit__()
        raise TimeoutError("mlflow models serve did not start")

    def worker_pids(self):
        """Every process of its session but the leader (its server's workers)."""
        out = subprocess.run(["pgrep", "-s", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        return [int(p) for p in out if int(p) != self.proc.pid]

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
