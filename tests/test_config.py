import pytest

from app import create_app
from inference.config import ConfigError, defaults, from_env


def test_defaults():
    d = defaults()
    assert d["MODEL_DIR"] == "artifacts" and d["DEFAULT_MODEL"] == "iris-rf" and d["API_KEY"] is None


def test_environment_is_parsed():
    env = {"MODELS": "linear, iris-rf,", "MAX_BATCH_ROWS": "50", "LOG_LEVEL": "debug", "API_KEY": ""}
    assert from_env(env) == {"MODELS": ["linear", "iris-rf"], "MAX_BATCH_ROWS": 50, "LOG_LEVEL": "DEBUG"}


def test_bad_values_fail_at_start_with_the_variable_named():
    with pytest.raises(ConfigError, match="MAX_BATCH_ROWS"):
        from_env({"MAX_BATCH_ROWS": "lots"})
    with pytest.raises(ConfigError, match="MAX_CONTENT_LENGTH"):
        create_app({"MAX_CONTENT_LENGTH": 0})


def test_environment_reaches_the_app(model_dir, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setenv("MODELS", "linear")
    monkeypatch.setenv("DEFAULT_MODEL", "linear")
    monkeypatch.setenv("LOAD_IN_BACKGROUND", "false")
    client = create_app().test_client()
    assert client.post("/predict", json={"features": [1, 2, 3]}).get_json()["prediction"] == [0.6]
