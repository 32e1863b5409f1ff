import json

from inference.core.manifest import read_manifest, sha256_file
from inference.train import BUILDERS, build_all, build_model, diabetes_risk_data


def _manifest(model_dir, name, version=1):
    return json.loads((model_dir / name / str(version) / "model.json").read_text())


def test_every_bundled_model_is_built_with_a_valid_manifest(model_dir):
    for name in BUILDERS:
        m = read_manifest(model_dir / name / "1")
        m.verify()
        assert m.created and m.data["source"]


def test_iris_models_reach_090_and_beat_the_majority_baseline(model_dir):
    for name in ("iris-rf", "iris-mlp"):
        metrics = _manifest(model_dir, name)["metrics"]
        assert metrics["accuracy"] >= 0.9
        assert metrics["accuracy"] > metrics["majority_baseline_accuracy"]


def test_diabetes_risk_beats_its_majority_baseline(model_dir):
    metrics = _manifest(model_dir, "diabetes-risk")["metrics"]
    assert metrics["accuracy"] > metrics["majority_baseline_accuracy"] + 0.1


def test_recorded_metrics_are_the_measured_ones(model_dir):
    """Recompute iris-rf's held-out accuracy from the saved model and the documented split."""
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    manifest = _manifest(model_dir, "iris-rf")
    iris = load_iris()
    _, x_test, _, y_test = train_test_split(iris.data, iris.target, test_size=manifest["data"]["test_size"],
                                            random_state=manifest["data"]["split_seed"])
    model = joblib.load(model_dir / "iris-rf" / "1" / "model.joblib")
    assert round(float((model.predict(x_test) == y_test).mean()), 6) == manifest["metrics"]["accuracy"]
    assert len(y_test) == manifest["metrics"]["n_test"]


def test_diabetes_classes_are_tertiles():
    x, y, cuts = diabetes_risk_data()
    assert x.shape[1] == 4
    counts = [(y == k).sum() for k in range(3)]
    assert max(counts) - min(counts) <= 3


def test_builds_are_deterministic_and_skip_what_exists(tmp_path, model_dir):
    build_model(tmp_path, "iris-mlp", progress=False)
    assert sha256_file(tmp_path / "iris-mlp" / "1" / "model.pt") == _manifest(model_dir, "iris-mlp")["sha256"]
    assert build_all(tmp_path, ["iris-mlp"], progress=False) == []
    assert [p.name for p in build_all(tmp_path, ["iris-mlp"], new_version=True, progress=False)] == ["2"]
    assert not [p for p in (tmp_path / "iris-mlp").iterdir() if p.name.startswith(".tmp")]


def test_cli_builds_then_skips(tmp_path, caplog):
    import logging

    from inference.train import main

    assert main(["linear", "--model-dir", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "linear" / "1" / "model.json").exists()
    with caplog.at_level(logging.INFO, logger="inference.train"):
        assert main(["linear", "--model-dir", str(tmp_path), "--quiet"]) == 0
    assert any("already built" in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "linear" / "2").exists()
