"""The audit log under a real 4-worker Gunicorn: 8 concurrent clients, a worker SIGKILLed mid-load.
Every line parses and checks out, and every 200 answer has exactly one line."""

import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from inference import audit
from inference.testing import GunicornServer

pytestmark = pytest.mark.e2e

CLIENTS = 8
PER_CLIENT = 60
IRIS = [5.1, 3.5, 1.4, 0.2]


def _request(session, url, client, i):
    """One of four kinds of prediction, by turn; returns (request id, status or None when dropped)."""
    rid = f"c{client}-r{i}"
    headers = {"X-Request-ID": rid}
    kind = i % 4
    try:
        if kind == 0:
            r = session.post(f"{url}/models/iris-rf/predict", json={"features": IRIS}, headers=headers, timeout=10)
        elif kind == 1:
            rows = [[float(i), float(client), 1.0]] * (1 + i % 7)
            r = session.post(f"{url}/models/linear/predict", json={"inputs": rows}, headers=headers, timeout=10)
        elif kind == 2:
            tensor = {"name": "input", "datatype": "FP64", "shape": [2, 4], "data": IRIS + [6.0, 3.0, 4.8, 1.8]}
            r = session.post(f"{url}/v2/models/iris-mlp/infer", json={"inputs": [tensor]}, headers=headers,
                             timeout=10)
        else:
            r = session.post(f"{url}/models/iris-mlp/predict", json={"features": [1, 2]}, headers=headers,
                             timeout=10)  # a 400: no line
        return rid, r.status_code
    except requests.RequestException:  # the connection of a killed worker
        return rid, None


def test_every_200_has_one_whole_line_through_a_worker_kill(model_dir, tmp_path):
    log = tmp_path / "audit.log"
    env = {"AUDIT_LOG": str(log), "AUDIT_INPUTS": "1", "MODELS": "iris-rf,iris-mlp,linear"}
    done = []
    halfway = threading.Event()
    with GunicornServer(model_dir, workers=4, threads=2, env=env) as srv:
        victim = srv.worker_pids()[0]

        def client(n):
            results = []
            session = requests.Session()
            for i in range(PER_CLIENT):
                rid, status = _request(session, srv.url, n, i)
                if status is None:
                    session = requests.Session()
                results.append((rid, status))
                done.append(1)
                if len(done) >= CLIENTS * PER_CLIENT // 3:
                    halfway.set()
            return results

        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(client, n) for n in range(CLIENTS)]
            assert halfway.wait(120)
            os.kill(victim, signal.SIGKILL)
            at_kill = len(done)
            results = [r for f in futures for r in f.result(timeout=300)]
        deadline = time.monotonic() + 30
        while victim in srv.worker_pids() or len(srv.worker_pids()) < 4:  # replaced by the master
            assert time.monotonic() < deadline
            time.sleep(0.2)

    assert at_kill < CLIENTS * PER_CLIENT * 0.6  # the kill came mid-load
    raw = log.read_bytes()
    verdict = audit.verify(raw.splitlines(keepends=True), check_inputs=True)
    assert verdict.ok, verdict.problems[:5]
    assert verdict.inputs_checked == verdict.lines
    logged = [json.loads(line)["request_id"] for line in raw.splitlines()]
    answered = [rid for rid, status in results if status == 200]
    refused = {rid for rid, status in results if status == 400}
    assert len(answered) > CLIENTS * PER_CLIENT // 2  # most requests were answered
    assert len(refused) == CLIENTS * PER_CLIENT // 4 - sum(1 for rid, s in results if s is None and
                                                           int(rid.split("-r")[1]) % 4 == 3)
    assert len(logged) == len(set(logged))  # one line per prediction
    assert set(answered) <= set(logged)  # every 200 has its line
    assert not refused & set(logged)  # a 400 has none
    # a line without an answer can only be a request whose worker was killed after writing it
    assert len(set(logged) - set(answered)) <= CLIENTS
    print(f"audit e2e: {len(results)} requests, {len(answered)} answered 200, {len(refused)} refused 400, "
          f"{sum(1 for _, s in results if s is None)} dropped by the kill; {len(logged)} lines")
