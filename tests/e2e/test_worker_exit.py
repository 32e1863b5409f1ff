"""Workers end cleanly (exit code 0) on a reload, a recycle and a shutdown, with the libraries
preloaded in the master. Before: every exit ended in ``terminate called after throwing an
instance of 'std::system_error'`` and SIGABRT (ONNX Runtime's telemetry thread, started by
``import onnxruntime`` in the master, does not survive the fork)."""

import os
import re
import signal
import time

import pytest
import requests

from inference.testing import GunicornServer
from tests.e2e.load import SteadyLoad, wait_for
from tests.e2e.slowmodel import add_slow_model

pytestmark = pytest.mark.e2e
IRIS = {"features": [5.1, 3.5, 1.4, 0.2]}
BAD_EXIT = re.compile(r"was sent SIG|exited with code [1-9]|terminate called|Worker failed to boot")


@pytest.mark.parametrize("preload", ["1", "0"])
def test_workers_exit_cleanly_on_reload_recycle_and_shutdown(model_dir, tmp_path, preload):
    log = tmp_path / "log"
    env = {"GUNICORN_PRELOAD_LIBRARIES": preload, "GUNICORN_MAX_REQUESTS": "40", "GUNICORN_MAX_REQUESTS_JITTER": "0"}
    srv = GunicornServer(model_dir, workers=2, env=env, log_path=log).start()
    try:
        first = set(srv.worker_pids())
        os.kill(srv.proc.pid, signal.SIGHUP)  # a reload: every worker is replaced
        assert wait_for(lambda: len(set(srv.worker_pids()) - first) == 2 and not first & set(srv.worker_pids()), 60)
        srv.wait_ready()
        with SteadyLoad(srv.url + "/predict", IRIS, threads=2) as load:  # 40 requests recycle a worker
            assert load.run_until(lambda: load.total >= 200, 60)
        assert load.outcomes["200"] >= 150, load.outcomes
        # let the last recycled worker finish exiting: the master's SIGTERM at shutdown would
        # otherwise meet it half-way (Gunicorn logs that as "was sent SIGTERM"). A worker that
        # logged "Worker exiting" may still be alive (and counted) for a moment.
        def settled():
            exiting = {int(pid) for pid in re.findall(r"Worker exiting \(pid: (\d+)\)", log.read_text())}
            live = set(srv.worker_pids())
            return len(live) == 2 and not live & exiting
        assert wait_for(settled, 30)
        # the last recycled worker may still be loading its models: wait for ready answers (a
        # worker that is still booting does not answer, so it may meet the shutdown mid-load:
        # that stop is the next test's subject, and it too must end cleanly)
        assert wait_for(lambda: all(requests.get(srv.url + "/ready", timeout=10).status_code == 200
                                    for _ in range(4)), 60)
    finally:
        srv.stop()
    assert srv.proc.returncode == 0
    text = log.read_text()
    exits = text.count("Worker exiting")
    assert exits >= 4 + 200 // 40 - 1, text[-3000:]  # two reloaded, several recycled, two at shutdown
    assert not BAD_EXIT.search(text), BAD_EXIT.findall(text)[:5]


def test_sigterm_while_a_worker_boots_stops_it_at_once(model_dir, tmp_path):
    """Before: the master's signal handlers, still in place while the worker imported torch, ate
    the SIGTERM; shutdown waited the whole graceful timeout (here 60 s) and SIGKILLed the worker."""
    log = tmp_path / "log"
    env = {"GUNICORN_PRELOAD_LIBRARIES": "0", "GUNICORN_GRACEFUL_TIMEOUT": "60"}  # boots slowly: torch per worker
    srv = GunicornServer(model_dir, workers=1, env=env, log_path=log).start(wait=False)
    try:
        assert wait_for(lambda: log.exists() and "Booting worker" in log.read_text(), 30)
        started = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        srv.proc.wait(timeout=45)
        assert time.monotonic() - started < 20
    finally:
        srv.stop()
    text = log.read_text()
    assert "Worker exiting" in text and not BAD_EXIT.search(text), text[-2000:]


def test_sigterm_while_a_worker_loads_its_models_exits_cleanly_at_once(model_copy, tmp_path):
    """Before: a worker stopped while its loader thread was inside ONNX Runtime (importing it or
    building a session) ended in "terminate called without an active exception" and SIGABRT, in
    about one stop out of three 50 ms after boot. The stops below are spread over the loading
    (the bundled models, then a model that takes 10 s) so that several land in that window."""
    add_slow_model(model_copy, "zzz-slow", load_delay=10.0)  # loads last: every stop finds loading unfinished
    for round_, delay in enumerate([0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.3]):
        log = tmp_path / f"log{round_}"
        srv = GunicornServer(model_copy, workers=1, env={"GUNICORN_GRACEFUL_TIMEOUT": "60"}, log_path=log)
        srv.start(wait=False)
        try:
            assert wait_for(lambda log=log: log.exists() and "Booting worker" in log.read_text(), 30)
            time.sleep(delay)
            started = time.monotonic()
            srv.proc.send_signal(signal.SIGTERM)
            srv.proc.wait(timeout=45)
            assert time.monotonic() - started < 5  # not the 10 s the slow model still needs
        finally:
            srv.stop()
        text = log.read_text()
        assert srv.proc.returncode == 0, text[-2000:]
        assert not BAD_EXIT.search(text), (delay, text[-2000:])
