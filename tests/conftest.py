"""Shared fixtures: the bundled models built once into a temporary repository, app -> client."""

import shutil

import pytest

from app import create_app
from inference.train import build_all


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """Every bundled model, trained by the real training code into a session folder."""
    path = tmp_path_factory.mktemp("artifacts")
    build_all(path, progress=False)
    return path


@pytest.fixture
def model_copy(model_dir, tmp_path):
    """A private, writable copy of the model repository (for tests that alter files)."""
    dest = tmp_path / "artifacts"
    shutil.copytree(model_dir, dest)
    return dest


@pytest.fixture(scope="session")
def make_app(model_dir):
    """``make_app(**config)``: an app on the session models, loaded in the foreground."""

    def make(**config):
        return create_app({"MODEL_DIR": str(model_dir), "LOG_LEVEL": "WARNING", "LOAD_IN_BACKGROUND": False,
                           **config})

    return make


@pytest.fixture(scope="session")
def app(make_app):
    return make_app(MAX_BATCH_ROWS=100)


@pytest.fixture
def client(app):
    return app.test_client()
