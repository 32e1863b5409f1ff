"""Golden outputs: every version carries them, each worker replays them at load, and
`inference verify` replays them in-process or against a running server."""

import json
import logging

import pytest

from inference.cli import main as cli
from inference.core.registry import ModelRegistry
from inference.testing import GunicornServer


def test_every_bundled_version_has_golden_outputs(model_dir):
    for name in ("iris-rf", "iris-mlp", "diabetes-risk", "linear", "digits-cnn"):
        golden = json.loads((model_dir / name / "1" / "model.json").read_text())["golden"]
        assert len(golden["inputs"]) == len(golden["outputs"]) == 20 and golden["tolerance"] > 0


def _edit_golden(model_dir, name, delta=0.01):
    path = model_dir / name / "1" / "model.json"
    manifest = json.loads(path.read_text())
    manifest["golden"]["outputs"][3][0] += delta
    path.write_text(json.dumps(manifest))


def test_edited_golden_output_is_refused_and_the_others_serve(model_copy, caplog, make_app):
    _edit_golden(model_copy, "iris-mlp")
    with caplog.at_level(logging.ERROR, logger="inference"):
        registry = ModelRegistry(model_copy).load_all()
    assert "iris-mlp" not in registry.models and "iris-rf" in registry.models
    reason = registry.failures["iris-mlp/1"]
    assert "golden outputs differ" in reason and "largest difference 0.01" in reason
    assert any("iris-mlp/1" in r.getMessage() and "largest difference" in r.getMessage() for r in caplog.records)
    client = make_app(MODEL_DIR=str(model_copy)).test_client()
    ready = client.get("/ready")
    assert ready.status_code == 503 and "iris-mlp/1" in ready.get_json()["details"]["failures"]
    assert client.post("/models/iris-rf/predict", json={"features": [5.1, 3.5, 1.4, 0.2]}).status_code == 200


def test_verify_in_process(model_copy, capsys):
    assert cli(["verify", "--model-dir", str(model_copy)]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok (in-process)") == 5
    _edit_golden(model_copy, "linear", delta=1.0)
    assert cli(["verify", "linear", "--model-dir", str(model_copy)]) == 1
    assert "linear/1: MISMATCH" in capsys.readouterr().out


def test_verify_fails_on_a_repository_without_models(tmp_path, capsys):
    """Before: exit 0 and no output, so a mistyped --model-dir passed a deployment check."""
    for folder in (tmp_path / "missing", tmp_path):
        assert cli(["verify", "--model-dir", str(folder)]) == 1
        assert "no model versions in" in capsys.readouterr().err


def test_inspect_reads_without_deserialising(model_copy, tmp_path, capsys):
    import pickle

    from tests.core.test_registry import WritesAFileWhenUnpickled

    marker = tmp_path / "pwned"
    (model_copy / "iris-rf" / "1" / "model.joblib").write_bytes(pickle.dumps(WritesAFileWhenUnpickled(marker)))
    assert cli(["inspect", "iris-rf", "--model-dir", str(model_copy)]) == 1  # a file does not match its hash
    out = capsys.readouterr().out
    assert "model.joblib" in out and "MISMATCH" in out and "model.onnx" in out
    assert "sepal_length: number" in out and "golden" in out
    assert not marker.exists()
    assert cli(["inspect", "linear/1", "--json", "--model-dir", str(model_copy)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["model"] == "linear/1" and info["files"]["model.pt"]["check"] == "ok"


@pytest.mark.e2e
def test_verify_against_a_running_server(model_dir, tmp_path, capsys):
    with GunicornServer(model_dir, workers=1, log_path=tmp_path / "server.log") as server:
        assert cli(["verify", "iris-rf", "diabetes-risk/1", "linear", "--url", server.url,
                    "--model-dir", str(model_dir)]) == 0
    out = capsys.readouterr().out
    assert out.count(f"ok ({server.url})") == 3
