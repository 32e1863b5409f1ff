"""iris-rf's compiled twin: ONNX Runtime serves it when verified, scikit-learn otherwise."""

import json
import logging

import numpy as np
import pytest

from inference.core.manifest import read_manifest
from inference.core.registry import ModelRegistry
from inference.core.runtimes import runtime_for

pytest.importorskip("onnxruntime")


def _iris_test_rows():
    from sklearn.datasets import load_iris

    return load_iris().data


def test_forest_is_served_by_onnxruntime_with_recorded_parity(model_dir):
    manifest = read_manifest(model_dir / "iris-rf" / "1")
    parity = manifest.compiled["parity"]
    assert parity["passed"] and parity["sample"]["max_abs_diff"] <= parity["tolerance"]
    assert parity["random"]["rows"] >= 1000
    compiled = runtime_for(manifest).load()
    plain = runtime_for(manifest, use_compiled=False).load()
    assert (compiled.engine, plain.engine) == ("onnxruntime", "scikit-learn")
    assert (compiled.file, plain.file) == ("model.onnx", "model.joblib")
    x = _iris_test_rows()
    np.testing.assert_allclose(compiled.predict(x), plain.predict(x), atol=1e-5)
    assert (compiled.predict(x).argmax(1) == plain.predict(x).argmax(1)).all()


def test_tampered_compiled_file_refuses_the_version(model_copy):
    with open(model_copy / "iris-rf" / "1" / "model.onnx", "ab") as fh:
        fh.write(b"\0")
    registry = ModelRegistry(model_copy, ["iris-rf"]).load_all()
    assert "sha256 mismatch" in registry.failures["iris-rf/1"]


def test_failed_parity_falls_back_to_scikit_learn(model_copy, caplog):
    path = model_copy / "iris-rf" / "1" / "model.json"
    manifest = json.loads(path.read_text())
    manifest["compiled"]["parity"]["passed"] = False
    path.write_text(json.dumps(manifest))
    with caplog.at_level(logging.WARNING, logger="inference"):
        registry = ModelRegistry(model_copy, ["iris-rf"]).load_all()
    assert registry.get("iris-rf").runtime.engine == "scikit-learn"
    assert any("parity" in r.getMessage() for r in caplog.records)


def test_api_reports_the_runtime_and_answers_the_same(client, make_app):
    assert client.get("/models/iris-rf").get_json()["runtime"] == "onnxruntime"
    plain = make_app(MODELS=["iris-rf"], USE_COMPILED=False).test_client()
    assert plain.get("/models/iris-rf").get_json()["runtime"] == "scikit-learn"
    rows = _iris_test_rows()[::7].tolist()
    a = client.post("/models/iris-rf/predict", json={"inputs": rows}).get_json()["predictions"]
    b = plain.post("/models/iris-rf/predict", json={"inputs": rows}).get_json()["predictions"]
    assert [p["prediction"] for p in a] == [p["prediction"] for p in b]
    for pa, pb in zip(a, b, strict=False):
        assert pa["probabilities"] == pytest.approx(pb["probabilities"], abs=1e-5)


NETWORKS = ["iris-mlp", "diabetes-risk", "linear", "digits-cnn"]


@pytest.mark.parametrize("name", NETWORKS)
def test_networks_are_served_by_their_onnx_twin_and_agree_with_eager_pytorch(model_dir, name):
    from inference.train import held_out

    manifest = read_manifest(model_dir / name / "1")
    parity = manifest.compiled["parity"]
    assert parity["passed"] and parity["random"]["rows"] >= 1000
    assert max(parity["sample"]["max_abs_diff"], parity["random"]["max_abs_diff"]) <= parity["tolerance"]
    twin = runtime_for(manifest).load()
    eager = runtime_for(manifest, use_compiled=False).load()
    assert (twin.engine, eager.engine) == ("onnxruntime", "pytorch")
    assert (twin.file, eager.file) == ("model.onnx", "model.pt")
    x = np.asarray(held_out(name), dtype=np.float64)
    np.testing.assert_allclose(twin.predict(x), eager.predict(x), atol=1e-5, rtol=1e-5)
    # the golden outputs were recorded by the runtime that serves: the twin
    golden = manifest.golden
    np.testing.assert_allclose(twin.predict(np.asarray(golden["inputs"])), golden["outputs"], atol=1e-12)


def test_engines_are_read_from_the_manifests_without_loading(model_copy):
    from inference.core.registry import engines

    assert engines(model_copy) == {"onnxruntime"}
    assert engines(model_copy, use_compiled=False) == {"pytorch", "scikit-learn"}
    assert engines(model_copy, ["linear"], use_compiled=False) == {"pytorch"}
    path = model_copy / "linear" / "1" / "model.json"
    manifest = json.loads(path.read_text())
    del manifest["compiled"]
    path.write_text(json.dumps(manifest))
    assert engines(model_copy) == {"onnxruntime", "pytorch"}
    path.write_text("{")  # unreadable: the registry reports it at load; it needs no library
    assert engines(model_copy, ["linear"]) == set()


def test_a_twin_that_fails_parity_is_not_written(tmp_path):
    import torch

    from inference.importing.torch import convert_twin

    class Unexportable(torch.nn.Module):  # a Python-side counter: the export freezes its first value
        calls = 0

        def forward(self, x):
            self.calls += 1
            return x * float(self.calls)

    compiled, note = convert_twin(Unexportable(), np.ones((4, 2)), tmp_path, classifier=False)
    assert compiled is None and "differs from eager PyTorch" in note
    assert not (tmp_path / "model.onnx").exists()
