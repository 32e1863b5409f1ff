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
