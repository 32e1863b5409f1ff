"""Bench-only models, written into a scratch model repository (never into artifacts/)."""

import torch

from inference.core import architectures
from inference.core.manifest import sha256_file, write_manifest

WIDE_HIDDEN = [2048, 2048, 2048]


def build_wide_mlp(model_dir, name="wide-mlp", hidden=WIDE_HIDDEN, coalesce=None):
    """A compute-heavy MLP(4 -> hidden -> 3) with seeded random weights: for the coalescing bench."""
    torch.manual_seed(0)
    kwargs = {"input_size": 4, "hidden_sizes": list(hidden), "num_classes": 3}
    model = architectures.build("MLP", kwargs)
    folder = model_dir / name / "1"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), folder / "model.pt")
    manifest = {
        "name": name, "version": 1, "framework": "pytorch", "task": "classification", "file": "model.pt",
        "sha256": sha256_file(folder / "model.pt"), "architecture": {"name": "MLP", "kwargs": kwargs},
        "inputs": {"features": ["f1", "f2", "f3", "f4"]}, "outputs": {"labels": ["a", "b", "c"]},
        "data": {"source": "none: random weights, for benchmarks only"}, "metrics": {},
    }
    if coalesce is not None:
        manifest["serving"] = {"coalesce": coalesce}
    write_manifest(folder, manifest)
    return folder


def build_mlflow_forest(folder, trees=30, seed=0):
    """A ``trees``-tree forest on the 30 breast-cancer features (scikit-learn ships the data), saved
    as an MLflow model directory (sklearn flavour) at ``folder``; returns the feature names and one row."""
    import warnings

    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    data = load_breast_cancer(as_frame=True)
    x = data.data
    model = RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=1).fit(x, data.target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(model, str(folder), signature=infer_signature(x.head(), model.predict(x.head())),
                                  input_example=x.head(5), serialization_format="cloudpickle")
    return list(x.columns), x.iloc[0].tolist()
