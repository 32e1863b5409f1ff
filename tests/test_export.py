"""Exported TorchScript and ONNX versions serve and agree with the PyTorch version."""

import json

import numpy as np
import pytest

from inference.export import ExportError, export
from inference.train import held_out

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def exported(model_dir, tmp_path_factory):
    """A copy of the repository with iris-mlp and diabetes-risk exported: v2 TorchScript, v3 ONNX."""
    import shutil

    root = tmp_path_factory.mktemp("exported") / "artifacts"
    shutil.copytree(model_dir, root)
    for name in ("iris-mlp", "diabetes-risk", "linear"):
        export(root, name, "torchscript", source_version=1)
        export(root, name, "onnx", source_version=1)
    return root


@pytest.mark.parametrize("name", ["iris-mlp", "diabetes-risk", "linear"])
def test_manifests_record_source_and_parity(exported, name):
    for version, fmt, file in ((2, "torchscript", "model.ts"), (3, "onnx", "model.onnx")):
        m = json.loads((exported / name / str(version) / "model.json").read_text())
        assert m["framework"] == fmt and m["file"] == file
        assert m["source"]["version"] == 1 and m["source"]["framework"] == "pytorch"
        assert m["parity"]["passed"] and m["parity"]["max_abs_diff"] <= m["parity"]["tolerance"]
        assert "architecture" not in m


@pytest.mark.parametrize("name", ["iris-mlp", "diabetes-risk", "linear"])
def test_exports_agree_with_pytorch_through_the_http_api(exported, make_app, name):
    client = make_app(MODEL_DIR=str(exported), MODELS=[name]).test_client()
    rows = held_out(name).tolist()
    answers = {v: client.post(f"/models/{name}/versions/{v}/predict", json={"inputs": rows}) for v in (1, 2, 3)}
    assert all(r.status_code == 200 for r in answers.values())
    base = answers[1].get_json()["predictions"]
    for v in (2, 3):
        other = answers[v].get_json()["predictions"]
        assert len(other) == len(base)
        for a, b in zip(base, other, strict=False):
            if isinstance(a, dict):  # classifier: same class, same probabilities within tolerance
                assert a["prediction"] == b["prediction"] and set(a) == set(b)
                assert np.allclose(list(a["probabilities"].values()), list(b["probabilities"].values()), atol=1e-5)
            else:
                assert np.allclose(a, b, atol=1e-5)
    meta = client.get(f"/models/{name}/versions/3").get_json()
    assert meta["framework"] == "onnx" and meta["runtime"] == "onnxruntime"
    assert client.get(f"/models/{name}").get_json()["version"] == 3


def test_only_pytorch_versions_export(model_dir, tmp_path):
    import shutil

    shutil.copytree(model_dir, tmp_path / "a")
    with pytest.raises(ExportError, match="only pytorch"):
        export(tmp_path / "a", "iris-rf", "onnx")
    with pytest.raises(ExportError, match="no model"):
        export(tmp_path / "a", "ghost", "onnx")


def test_without_onnxruntime_onnx_versions_are_skipped(exported, monkeypatch, caplog):
    """As if the 'onnx' extra were not installed: ONNX versions are skipped with a log line, the
    PyTorch and TorchScript versions serve, and readiness does not depend on the skipped ones."""
    import sys

    import inference.core
    from inference.core.registry import ModelRegistry

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    monkeypatch.delitem(sys.modules, "inference.core.onnx_runtime", raising=False)
    monkeypatch.delattr(inference.core, "onnx_runtime", raising=False)
    registry = ModelRegistry(exported, ["iris-mlp"]).load_all()
    assert registry.versions("iris-mlp") == [1, 2]
    assert "iris-mlp/3" in registry.skipped and registry.ready
    assert any("skipped" in r.getMessage() and "onnx" in r.getMessage() for r in caplog.records)


def test_cli_exit_codes(model_dir, tmp_path, capsys):
    import shutil

    from inference.export import main

    shutil.copytree(model_dir, tmp_path / "a")
    assert main(["ghost", "--format", "onnx", "--model-dir", str(tmp_path / "a")]) == 1
    assert "export failed" in capsys.readouterr().err
    assert main(["linear", "--format", "torchscript", "--model-dir", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a" / "linear" / "2" / "model.ts").exists()


@pytest.mark.parametrize("name", ["iris-mlp", "diabetes-risk"])
def test_exports_keep_the_training_data_reference(exported, name):
    """The same network trained on the same data: drift and ranges are measured against it."""
    source = json.loads((exported / name / "1" / "model.json").read_text())["reference"]
    for version in (2, 3):
        assert json.loads((exported / name / str(version) / "model.json").read_text())["reference"] == source


def test_an_export_without_source_reference_describes_its_rows(exported):
    m = json.loads((exported / "linear" / "3" / "model.json").read_text())
    assert m["reference"]["source"] == "held-out rows" and m["reference"]["rows"] == len(held_out("linear"))
