"""The nginx configuration template and its renderer, without starting nginx."""

import subprocess

import pytest

from deploy import nginx_conf
from inference import config


def test_every_placeholder_has_a_knob_and_every_knob_is_used():
    text = "".join((nginx_conf.TEMPLATES / n).read_text() for n in ("nginx.conf", "inference.conf"))
    used = set(nginx_conf.PLACEHOLDER.findall(text))
    assert used | {"FAIL_TIMEOUT"} == set(nginx_conf.KNOBS)  # FAIL_TIMEOUT goes into UPSTREAM_SERVERS


def test_a_missing_knob_is_an_error_not_an_empty_string():
    with pytest.raises(KeyError, match="RATE"):
        nginx_conf.render("limit {{RATE}} {{LISTEN}}", {"LISTEN": "80"})


def test_upstream_lines_name_every_replica():
    lines = nginx_conf.upstream_servers(["127.0.0.1:1", "127.0.0.1:2"], "3s").splitlines()
    assert lines == ["    server 127.0.0.1:1 max_fails=1 fail_timeout=3s;",
                     "    server 127.0.0.1:2 max_fails=1 fail_timeout=3s;"]
    with pytest.raises(ValueError):
        nginx_conf.upstream_servers([])


def test_default_body_limit_is_the_apps_max_content_length():
    assert int(nginx_conf.defaults()["CLIENT_MAX_BODY_SIZE"]) == config.defaults()["MAX_CONTENT_LENGTH"]


def test_rendered_configuration_passes_nginx_t(tmp_path, nginx_available):
    conf = nginx_conf.write_prefix(tmp_path, ["127.0.0.1:8001", "127.0.0.1:8002"], listen="127.0.0.1:8080",
                                   rate="10r/s", burst="5")
    result = subprocess.run([nginx_available, "-p", str(tmp_path), "-c", str(conf), "-t"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "inference.conf").read_text()
    assert "rate=10r/s" in text and "burst=5 nodelay" in text and "{{" not in text


def test_command_line_prints_the_http_context_for_a_debian_host(capsys):
    assert nginx_conf.main(["--upstream", "10.0.0.5:8000", "--listen", "8080"]) == 0
    out = capsys.readouterr().out
    assert "server 10.0.0.5:8000 max_fails=1" in out and "listen 8080;" in out
    assert "/var/log/nginx/inference-access.log inference_json" in out
