"""The request log under a real Gunicorn: every answered request has its line, none is lost when
workers stop cleanly (a reload, then SIGTERM), even though lines are buffered in the workers."""

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from inference.testing import GunicornServer

pytestmark = pytest.mark.e2e
IRIS = {"features": [5.1, 3.5, 1.4, 0.2]}


def _send(url, n, threads=4):
    """``n`` predictions from ``threads`` clients; the request ids of those answered 200."""
    def run(count):
        ids = []
        with requests.Session() as s:
            for _ in range(count):
                r = s.post(url + "/predict", json=IRIS, timeout=10)
                assert r.status_code == 200
                ids.append(r.headers["X-Request-ID"])
        return ids

    with ThreadPoolExecutor(threads) as pool:
        return [i for ids in pool.map(run, [n // threads] * threads) for i in ids]


def test_no_line_is_lost_across_a_reload_and_a_clean_shutdown(model_dir, tmp_path):
    log = tmp_path / "server.log"
    # No timed flush: lines leave a worker only when its buffer fills (64 KiB) or when it exits.
    env = {"ACCESS_LOG_FLUSH_SECONDS": "3600"}
    srv = GunicornServer(model_dir, workers=2, env=env, log_path=log).start()
    try:
        sent = _send(srv.url, 400)
        old = set(srv.worker_pids())
        os.kill(srv.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 60
        while (old & set(srv.worker_pids()) or len(srv.worker_pids()) != 2) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not old & set(srv.worker_pids()), "the old workers did not stop"
        srv.wait_ready()
        sent += _send(srv.url, 400)
    finally:
        srv.stop()
    assert srv.proc.returncode == 0
    logged = [json.loads(line) for line in log.read_text().splitlines() if '"inference.access"' in line]
    predictions = [line["request_id"] for line in logged if line["route"] == "/predict"]
    assert len(sent) == 800 and sorted(predictions) == sorted(sent)
