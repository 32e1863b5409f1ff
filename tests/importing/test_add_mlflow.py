"""inference add for MLflow model directories written by MLflow itself (sklearn flavour as skops
and cloudpickle, onnx flavour); the server reads them without importing mlflow."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from tests.importing.conftest import add, clinical_frame, clinical_pipeline, json_rows, serve, served_probabilities

mlflow_sklearn = pytest.importorskip("mlflow.sklearn")


@pytest.fixture(scope="module")
def fitted():
    from sklearn.ensemble import RandomForestClassifier

    df = clinical_frame()
    y = np.where(df.bmi > 28, "obese-risk", "normal")
    return clinical_pipeline(RandomForestClassifier(n_estimators=10, random_state=0)).fit(df, y), df


def _save(model, df, path, **kwargs):
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow_sklearn.save_model(model, str(path), signature=infer_signature(df.head(), model.predict(df.head())),
                                  input_example=df.head(5), **kwargs)


def test_skops_flavour_needs_trust_and_is_read_without_mlflow(fitted, tmp_path, capsys):
    model, df = fitted
    _save(model, df, tmp_path / "mlmodel", skops_trusted_types=["sklearn.tree._tree.Tree"])
    repo = tmp_path / "repo"
    assert add(repo, tmp_path / "mlmodel", "risk") == 1
    err = capsys.readouterr().err
    assert "sklearn.tree._tree.Tree" in err and "MLmodel lists" in err  # MLflow's claim shown, not trusted
    assert not (repo / "risk").exists()
    assert add(repo, tmp_path / "mlmodel", "risk", "--trust", "sklearn.tree._tree.Tree") == 0
    manifest = json.loads((repo / "risk" / "1" / "model.json").read_text())
    assert manifest["source"]["kind"] == "mlflow" and manifest["source"]["serialization_format"] == "skops"
    assert manifest["inputs"]["types"]["visits"] == {"type": "integer"}  # from the MLflow signature (long)
    assert manifest["inputs"]["types"]["smoker"]["type"] == "string"
    served = served_probabilities(serve(repo), "risk", json_rows(df.iloc[50:80]))
    np.testing.assert_allclose(served, model.predict_proba(df.iloc[50:80]), atol=1e-4)


def test_cloudpickle_flavour(fitted, tmp_path, capsys):
    model, df = fitted
    _save(model, df, tmp_path / "mlmodel", serialization_format="cloudpickle")
    assert add(tmp_path / "repo", tmp_path / "mlmodel", "risk") == 0
    assert "pickle" in capsys.readouterr().out
    served = served_probabilities(serve(tmp_path / "repo"), "risk", json_rows(df.iloc[:20]))
    np.testing.assert_allclose(served, model.predict_proba(df.iloc[:20]), atol=1e-4)


def test_onnx_flavour(tmp_path):
    import mlflow.onnx
    from skl2onnx import to_onnx
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    onx = to_onnx(model, x[:1].astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.onnx.save_model(onx, str(tmp_path / "mlmodel"), input_example=x[:3].astype(np.float32))
    assert add(tmp_path / "repo", tmp_path / "mlmodel", "iris-onnx", "--features", "sl,sw,pl,pw") == 0
    body = serve(tmp_path / "repo").post("/models/iris-onnx/predict", json={"inputs": x[::13].tolist()}).get_json()
    probs = np.array([[p["probabilities"][k] for k in "012"] for p in body["predictions"]])
    np.testing.assert_allclose(probs, model.predict_proba(x[::13]), atol=1e-4)


def test_reading_an_mlflow_directory_does_not_import_mlflow(fitted, tmp_path):
    model, df = fitted
    _save(model, df, tmp_path / "mlmodel", serialization_format="cloudpickle")
    code = ("import sys; from inference.cli import main; rc = main(['add', sys.argv[1], '--name', 'm', "
            "'--model-dir', sys.argv[2]]); assert 'mlflow' not in sys.modules, 'mlflow was imported'; sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "mlmodel"), str(tmp_path / "repo")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_unsupported_flavour(tmp_path, capsys):
    folder = tmp_path / "mlmodel"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors:\n  tensorflow:\n    saved_model_dir: tfmodel\n")
    assert add(tmp_path / "repo", folder, "tf") == 1
    assert "unsupported MLflow flavour" in capsys.readouterr().err
