"""Two real Gunicorn replicas behind a real nginx: stopping one under steady load, gracefully or
by killing it, loses no request."""

import os
import signal

import pytest
import requests

from deploy.failover import predictions_served, stop_and_restart_under_load
from inference.testing import GunicornServer

pytestmark = pytest.mark.e2e


def kill(server):
    """SIGKILL the replica's master and workers at once: a crash, or a node lost."""
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(30)


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_stopping_a_replica_under_load_loses_no_prediction(model_dir, tmp_path, start_nginx, how):
    """sigkill: the requests in flight on the killed replica fail there, and nginx retries them on
    the other one (``proxy_next_upstream error ... non_idempotent``)."""
    def replica(name, port=None):
        return GunicornServer(model_dir, workers=1, threads=4, port=port, log_path=tmp_path / f"{name}.log",
                              env={"ACCESS_LOG": "0"})

    a, b = replica("a").start(), replica("b").start()
    restarted = replica("a2", port=a.port)
    try:
        # One client address sends everything here: lift the per-client limit out of the way.
        proxy = start_nginx([f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"], rate="100000r/s", burst="100000")
        def served(server):
            return predictions_served(requests.get(server.url + "/metrics", timeout=10).text)

        result, timings = stop_and_restart_under_load(
            proxy.url + "/predict",
            stop_replica=a.stop if how == "sigterm" else lambda: kill(a),
            start_replica=lambda: restarted.start(timeout=60),
            back_in_rotation=lambda: served(restarted) > 0, settle=1.5, clients=4, max_requests=20_000)
        assert result.failed == 0, f"{result.failed} of {result.total} failed: {result.failures[:5]}"
        assert result.total >= 100, result.statuses  # the load really ran through the stop and the start
        # Both replicas served predictions, and the restarted one is back in rotation.
        served_b, served_again = served(b), served(restarted)
        assert served_b > 0 and served_again > 0, (served_b, served_again)
        assert a.proc.returncode == (0 if how == "sigterm" else -signal.SIGKILL)
        print(f"failover: {result.total} requests in {result.seconds:.1f}s, {result.failed} failed; "
              f"stop {timings['stop_s']:.2f}s, restart to ready {timings['start_s']:.2f}s, "
              f"back in rotation {timings['rejoin_s']:.2f}s later; "
              f"served after restart {served_again}, other replica {served_b}")
    finally:
        for server in (a, b, restarted):
            server.stop()
