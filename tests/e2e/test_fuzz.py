"""schemathesis against /openapi.json on a live Gunicorn: no 5xx, every status and response body
as documented. Bounded: 50 examples per operation, deterministic generation; about 1,200 cases in 5 s here."""

import subprocess
import sys
from pathlib import Path

import pytest

from inference.testing import GunicornServer

pytestmark = pytest.mark.e2e
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
MAX_EXAMPLES = 50


def test_schemathesis_finds_nothing(model_dir, tmp_path):
    st = Path(sys.executable).parent / "st"
    if not st.exists():
        pytest.skip("schemathesis is not installed (the dev extra)")
    with GunicornServer(model_dir, workers=2, log_path=tmp_path / "log") as srv:
        run = subprocess.run([str(st), "run", f"{srv.url}/openapi.json", "--checks", CHECKS, "-n", str(MAX_EXAMPLES),
                              "--phases", "examples,coverage,fuzzing", "--generation-deterministic"],
                             capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-6000:]
    assert "generated" in run.stdout
