"""Fixtures for the deployment tests: real Gunicorn replicas and a real nginx on loopback ports."""

import pytest

from deploy.nginx_conf import Nginx, nginx_binary
from inference.testing import GunicornServer, free_port


@pytest.fixture(scope="session")
def nginx_available():
    """Skip nothing silently: CI installs nginx (.ci/run), so its absence is a failure."""
    return nginx_binary()


@pytest.fixture(scope="module")
def replica(model_dir, tmp_path_factory):
    """One Gunicorn replica (2 workers x 2 threads) on the bundled models, shared by a module."""
    log = tmp_path_factory.mktemp("replica") / "gunicorn.log"
    server = GunicornServer(model_dir, workers=2, threads=2, log_path=log, env={"ACCESS_LOG": "0"})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def start_nginx(tmp_path, nginx_available):
    """``start_nginx(upstreams, **knobs)``: an nginx in front of ``upstreams``, stopped at teardown."""
    started = []

    def start(upstreams, **knobs):
        proxy = Nginx(tmp_path / f"nginx{len(started)}", upstreams, free_port(), **knobs)
        started.append(proxy)
        return proxy.start()

    yield start
    for proxy in started:
        proxy.stop()
