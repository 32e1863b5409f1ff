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
    monkeypatch.setenv("ACCESS_LOG", "off")  # (its line would reach the terminal when pytest exits)
    client = create_app().test_client()
    assert client.post("/predict", json={"features": [1, 2, 3]}).get_json()["prediction"] == [0.6]


def _readme_settings():
    """The variable names in the first column of the README's configuration table."""
    import re
    from pathlib import Path

    text = Path(__file__).resolve().parents[1].joinpath("README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE))


def test_readme_configuration_table_matches_the_settings_both_ways():
    from inference.config import SETTINGS

    documented = _readme_settings()
    assert documented - set(SETTINGS) == set(), "documented in the README but unknown to inference.config"
    assert set(SETTINGS) - documented == set(), "known to inference.config but missing from the README's table"


def test_server_settings_are_parsed_with_the_same_rules():
    from inference.config import SERVER, load

    server = load(scope=SERVER, environ={"WEB_CONCURRENCY": "3", "GUNICORN_PRELOAD_LIBRARIES": "off"})
    assert server["WEB_CONCURRENCY"] == 3 and server["GUNICORN_PRELOAD_LIBRARIES"] is False
    with pytest.raises(ConfigError, match="GUNICORN_PRELOAD_LIBRARIES"):
        load(scope=SERVER, environ={"GUNICORN_PRELOAD_LIBRARIES": "maybe"})
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY"):
        load(scope=SERVER, environ={"WEB_CONCURRENCY": "0"})


@pytest.mark.parametrize("value", ["-0.5", "nan", "0", "inf", "1e19", "1e-7"])
def test_a_client_idle_timeout_must_be_a_number_of_seconds_the_kernel_can_take(value):
    # -0.5 made every worker's first accept() fail in setsockopt and 1e19 in struct.pack, and the
    # master respawn them forever; 1e-7 rounded to 0 µs, which the kernel reads as no timeout at all
    from inference.config import SERVER, load

    with pytest.raises(ConfigError, match="GUNICORN_CLIENT_IDLE_TIMEOUT"):
        load(scope=SERVER, environ={"GUNICORN_CLIENT_IDLE_TIMEOUT": value})
    assert load(scope=SERVER, environ={"GUNICORN_CLIENT_IDLE_TIMEOUT": "0.5"})["GUNICORN_CLIENT_IDLE_TIMEOUT"] == 0.5


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_the_access_log_flush_interval_is_0_or_more_seconds(value):
    from inference.config import load

    with pytest.raises(ConfigError, match="ACCESS_LOG_FLUSH_SECONDS"):
        load(environ={"ACCESS_LOG_FLUSH_SECONDS": value})
    assert load(environ={"ACCESS_LOG_FLUSH_SECONDS": "0"})["ACCESS_LOG_FLUSH_SECONDS"] == 0.0
