"""Models built inside the tests, the way a team would train its own, and helpers to add them."""

import joblib
import numpy as np
import pandas as pd
import pytest

from app import create_app
from inference.cli import main as cli


def clinical_frame(n=400, seed=0):
    """A small mixed-type table: numbers, an integer count, and string categories."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.uniform(20, 90, n).round(1),
        "sex": rng.choice(["F", "M"], n),
        "smoker": rng.choice(["yes", "no", "former"], n),
        "bmi": rng.normal(27, 4, n).round(1),
        "visits": rng.integers(0, 10, n),
    })


def clinical_pipeline(estimator):
    """The common clinical shape: one-hot the strings, scale the numbers, then ``estimator``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    encode = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["sex", "smoker"]),
                                ("num", StandardScaler(), ["age", "bmi", "visits"])])
    return Pipeline([("encode", encode), ("model", estimator)])


@pytest.fixture(scope="session")
def clinical(tmp_path_factory):
    """A fitted readmission classifier (string classes) on a DataFrame, saved with joblib, and a sample CSV."""
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("clinical")
    df = clinical_frame()
    y = np.where((df.age > 60) & (df.smoker != "no"), "readmitted", "home")
    model = clinical_pipeline(LogisticRegression()).fit(df, y)
    joblib.dump(model, folder / "readmission.joblib")
    df.head(50).to_csv(folder / "sample.csv", index=False)
    return {"model": model, "frame": df, "path": folder / "readmission.joblib", "sample": folder / "sample.csv"}


def add(model_dir, path, name, *options):
    """Run ``inference add`` and return its exit status."""
    return cli(["add", str(path), "--name", name, "--model-dir", str(model_dir), *map(str, options)])


def serve(model_dir, **config):
    """A test client of an app on ``model_dir``, loaded in the foreground."""
    return create_app({"MODEL_DIR": str(model_dir), "LOG_LEVEL": "WARNING", "LOAD_IN_BACKGROUND": False,
                       **config}).test_client()


def served_probabilities(client, name, rows):
    """The served probabilities of ``rows`` (name->value objects), one row per input, in label order."""
    r = client.post(f"/models/{name}/predict", json={"inputs": rows})
    assert r.status_code == 200, r.get_json()
    labels = client.get(f"/models/{name}").get_json()["outputs"]["labels"]
    return np.array([[p["probabilities"][label] for label in labels] for p in r.get_json()["predictions"]])


def json_rows(frame):
    """DataFrame rows as JSON-ready name->value objects."""
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]
