"""A reload (HUP) after a model's files went missing or broken keeps serving what was served.

Before: the new workers could not load the version and answered 503 for it from then on."""

import os
import signal
import time

import pytest
import requests

from inference.testing import GunicornServer

pytestmark = pytest.mark.e2e
LINEAR = {"features": [1.0, 2.0, 3.0]}
IRIS = {"features": [5.1, 3.5, 1.4, 0.2]}


def reload_and_wait(srv, timeout=60, ready=True):
    """HUP the master; return once every worker is a new one (and, with ``ready``, /ready is 200)."""
    old = set(srv.worker_pids())
    os.kill(srv.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = set(srv.worker_pids())
        if len(pids) == srv.workers and not pids & old:
            if ready:
                srv.wait_ready(timeout)
            return
        time.sleep(0.1)
    raise TimeoutError("workers were not replaced")


def test_reload_keeps_serving_a_model_whose_files_broke(model_copy, tmp_path):
    log = tmp_path / "log"
    with GunicornServer(model_copy, workers=2, log_path=log) as srv:
        before = {name: requests.post(f"{srv.url}/models/{name}/predict", json=body, timeout=10)
                  for name, body in (("linear", LINEAR), ("iris-mlp", IRIS))}
        assert all(r.status_code == 200 for r in before.values())
        (model_copy / "linear" / "1" / "model.pt").unlink()  # the weights file disappears
        weights = model_copy / "iris-mlp" / "1" / "model.pt"
        weights.write_bytes(weights.read_bytes()[:100])  # rewritten in place, truncated (a half-done copy)
        reload_and_wait(srv)
        for name, body in (("linear", LINEAR), ("iris-mlp", IRIS)):
            r = requests.post(f"{srv.url}/models/{name}/predict", json=body, timeout=10)
            assert r.status_code == 200, r.text
            assert r.json() == before[name].json()
            assert r.headers["X-Model-SHA256"] == before[name].headers["X-Model-SHA256"]
        assert requests.get(srv.url + "/ready", timeout=10).status_code == 200
        text = log.read_text()
        assert "model linear/1" in text and "model iris-mlp/1" in text and "previous start or reload" in text


def test_reload_drops_a_retired_version_and_refuses_a_never_verified_one(model_copy, tmp_path):
    import shutil

    from inference.train import build_model

    with GunicornServer(model_copy, workers=1, log_path=tmp_path / "log") as srv:
        build_model(model_copy, "linear", version=2, progress=False)
        (model_copy / "linear" / "2" / "model.pt").write_bytes(b"tampered")  # never verified
        shutil.rmtree(model_copy / "diabetes-risk")  # retired on purpose
        reload_and_wait(srv, ready=False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the new worker has tried every version
            ready = requests.get(srv.url + "/ready", timeout=10)
            if "linear/2" in ready.json().get("details", {}).get("failures", {}):
                break
            time.sleep(0.1)
        assert ready.status_code == 503 and "linear/2" in ready.json()["details"]["failures"]
        assert requests.post(srv.url + "/models/linear/versions/1/predict", json=LINEAR, timeout=10).status_code == 200
        r = requests.post(srv.url + "/models/diabetes-risk/predict", json={"features": [1, 2, 3, 4]}, timeout=10)
        assert r.status_code == 404
