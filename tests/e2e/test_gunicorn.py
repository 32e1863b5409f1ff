"""End-to-end: a real multi-worker Gunicorn, real HTTP over loopback, real model files."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.server import GunicornServer

pytestmark = pytest.mark.e2e

IRIS = {"features": [5.1, 3.5, 1.4, 0.2]}
LINEAR = {"inputs": [[1.0, 2.0, 3.0], [0.5, 0.2, 0.1]]}


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("gunicorn") / "server.log"
    with GunicornServer(model_dir, workers=2, log_path=log) as srv:
        yield srv


def _check(session, url, kind):
    if kind == "iris":
        r = session.post(url + "/predict", json=IRIS, timeout=10)
        body = r.json()
        ok = r.status_code == 200 and body["prediction"] == "setosa" and \
            abs(sum(body["probabilities"].values()) - 1) < 1e-6
    elif kind == "linear":
        r = session.post(url + "/models/linear/versions/1/predict", json=LINEAR, timeout=10)
        ok = r.status_code == 200 and r.json()["predictions"] == [[0.6], [0.08]]
    else:
        r = session.post(url + "/predict", data=b"{oops", headers={"Content-Type": "application/json"}, timeout=10)
        ok = r.status_code == 400 and r.json()["code"] == "malformed_json"
    return ok, r.headers.get("X-Request-ID")


def test_concurrent_requests_all_answered_correctly(server):
    kinds = ["iris", "linear", "bad"] * 100

    def run(chunk):
        with requests.Session() as s:
            return [_check(s, server.url, kind) for kind in chunk]

    chunks = [kinds[i::8] for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = [r for chunk in pool.map(run, chunks) for r in chunk]
    assert len(results) == 300
    assert all(ok for ok, _ in results), [r for r in results if not r[0]][:5]
    assert len({rid for _, rid in results}) == 300  # every response has its own request id


def test_several_workers_serve(server):
    assert len(server.worker_pids()) == 2
    r = requests.get(server.url + "/ready", timeout=5)
    assert r.status_code == 200


def test_plain_gunicorn_command_serves(model_dir, tmp_path):
    """``gunicorn -w 2 wsgi:app`` without our config file also serves."""
    import subprocess
    import sys

    from tests.e2e.server import ROOT, free_port
    port = free_port()
    env = {"MODEL_DIR": str(model_dir), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import time
        deadline = time.monotonic() + 60
        while True:
            try:
                r = requests.post(f"http://127.0.0.1:{port}/predict", json=IRIS, timeout=5)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["prediction"] == "setosa"
    finally:
        proc.terminate()
        proc.wait(30)
