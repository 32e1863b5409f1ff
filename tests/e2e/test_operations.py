"""Operations under a real Gunicorn: metrics over workers, reload, crash, shutdown, readiness."""

import os
import signal
import threading
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from inference.testing import GunicornServer
from inference.train import build_model
from tests.e2e.load import SteadyLoad
from tests.e2e.slowmodel import add_slow_model

pytestmark = pytest.mark.e2e
IRIS = {"features": [5.1, 3.5, 1.4, 0.2]}
LINEAR = {"features": [1.0, 2.0, 3.0]}


def samples(url, name):
    """The samples of metric ``name`` from /metrics, as (labels, value) pairs."""
    text = requests.get(url + "/metrics", timeout=10).text
    return [(s.labels, s.value) for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name]


def test_metrics_sum_exactly_over_four_workers(model_dir, tmp_path):
    n = 240
    with GunicornServer(model_dir, workers=4, log_path=tmp_path / "log") as srv:
        with SteadyLoad(srv.url + "/predict", IRIS, threads=8) as load:
            load.run_until(lambda: load.total >= n, 60)
        extra = load.total  # the load stops between requests; count what it really sent
        assert load.failures == 0
        counted = sum(v for labels, v in samples(srv.url, "inference_requests_total")
                      if labels["route"] == "/predict" and labels["status"] == "200")
        assert counted == extra >= n
        pids = {str(p) for p in srv.worker_pids()}
        info = samples(srv.url, "inference_model_info")
        assert {labels["model"] for labels, _ in info} == {"iris-rf", "iris-mlp", "diabetes-risk", "linear",
                                                               "digits-cnn"}
        batch = [v for labels, v in samples(srv.url, "inference_batch_rows_count") if labels["model"] == "iris-rf"]
        assert batch == [extra]
        passes = sum(v for labels, v in samples(srv.url, "inference_model_latency_seconds_count")
                     if labels["model"] == "iris-rf")
        merged = {name: sum(v for labels, v in samples(srv.url, f"inference_coalesced_requests_{name}")
                            if labels["model"] == "iris-rf") for name in ("sum", "count")}
        # one forward pass per request, except that a coalesced pass served several
        assert passes == extra - (merged["sum"] - merged["count"])
        in_flight = samples(srv.url, "inference_requests_in_flight")
        assert in_flight == [({}, 1.0)]  # the scrape itself
        assert len(pids) == 4


def test_hup_reload_serves_a_new_version_without_failures(model_copy, tmp_path):
    url_path = "/models/linear/predict"
    with GunicornServer(model_copy, workers=2, log_path=tmp_path / "log") as srv:
        with SteadyLoad(srv.url + url_path, LINEAR, threads=4) as load:
            assert load.run_until(lambda: load.total > 50, 30)
            build_model(model_copy, "linear", version=2, progress=False)
            os.kill(srv.proc.pid, signal.SIGHUP)
            # every new worker serves version 2 once the old ones are gone
            assert load.run_until(lambda: load.versions["2"] > 200, 60)
            before = load.versions["1"]
            assert load.run_until(lambda: load.versions["2"] > 400, 30)
            assert load.versions["1"] == before
        assert load.failures == 0, load.outcomes
        assert load.versions["1"] > 0
        body = requests.post(srv.url + url_path, json=LINEAR, timeout=10)
        assert body.headers["X-Model-Version"] == "2"


def test_sigkill_of_a_worker_under_load(model_dir, tmp_path):
    threads = 8
    with GunicornServer(model_dir, workers=4, log_path=tmp_path / "log") as srv:
        with SteadyLoad(srv.url + "/predict", IRIS, threads=threads) as load:
            assert load.run_until(lambda: load.total > 100, 30)
            victim = srv.worker_pids()[0]
            os.kill(victim, signal.SIGKILL)
            assert load.run_until(lambda: len(srv.worker_pids()) == 4 and victim not in srv.worker_pids(), 30)
            served = load.total
            assert load.run_until(lambda: load.total > served + 200, 30)
        # Only requests on connections that the dead worker held can fail: at most one per client.
        assert load.failures <= threads, load.outcomes
        srv.wait_ready()
        with requests.Session() as s:
            codes = [s.post(srv.url + "/predict", json=IRIS, timeout=10).status_code for _ in range(50)]
        assert codes == [200] * 50


def test_sigterm_lets_an_in_flight_request_finish(model_copy, tmp_path):
    add_slow_model(model_copy, "slow", delay=2.0)
    env = {"GUNICORN_GRACEFUL_TIMEOUT": "10"}
    srv = GunicornServer(model_copy, workers=1, env=env, log_path=tmp_path / "log").start()
    result = {}

    def slow_request():
        r = requests.post(srv.url + "/models/slow/predict", json={"features": [1.0]}, timeout=30)
        result["status"], result["body"] = r.status_code, r.json()

    try:
        t = threading.Thread(target=slow_request)
        t.start()
        time.sleep(0.7)  # the request is inside the model now
        started = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        t.join(30)
        srv.proc.wait(30)
        assert result["status"] == 200 and result["body"]["probabilities"] == {"no": 0.5, "yes": 0.5}
        assert time.monotonic() - started < 10
        assert srv.proc.returncode == 0
    finally:
        srv.stop()


@pytest.mark.parametrize("load_wait, expect", [("30", 200), ("0.2", 503)])
def test_ready_is_503_until_models_load_and_health_stays_200(model_copy, tmp_path, load_wait, expect):
    """While a worker loads: /health 200, /ready 503, and a prediction waits for its model up to
    MODEL_LOAD_WAIT seconds (200 once loaded), or gets 503 with Retry-After past that."""
    add_slow_model(model_copy, "slow", load_delay=3.0)
    env = {"MODEL_LOAD_WAIT": load_wait}
    srv = GunicornServer(model_copy, workers=1, env=env, log_path=tmp_path / "log").start(wait=False)
    try:
        seen, predicted = [], None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                health = requests.get(srv.url + "/health", timeout=2)
                ready = requests.get(srv.url + "/ready", timeout=2)
            except requests.RequestException:
                time.sleep(0.05)
                continue
            assert health.status_code == 200
            seen.append(ready.status_code)
            if ready.status_code == 503 and predicted is None:
                predicted = requests.post(srv.url + "/models/slow/predict", json={"features": [1.0]}, timeout=60)
            if ready.status_code == 200:
                break
            time.sleep(0.05)
        assert seen[0] == 503 and seen[-1] == 200
        assert predicted.status_code == expect
        if expect == 503:
            assert predicted.json()["code"] == "model_unavailable" and predicted.headers["Retry-After"]
    finally:
        srv.stop()
