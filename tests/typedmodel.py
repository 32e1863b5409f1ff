"""A model with typed features, added to a copy of the bundled repository the way a team adds its own:
a scikit-learn Pipeline (OneHotEncoder on the string and boolean columns, StandardScaler on the
numbers) fitted on a pandas DataFrame, saved as an MLflow directory (its signature gives one
column of each type: number, string, boolean, integer) and added with ``inference add``."""

import json
import pickle
import shutil

import numpy as np

from inference.importing.add import add

NAME = "readmission"
FEATURES = ["age", "ward", "smoker", "visits"]
TYPES = {"age": "number", "ward": "string", "smoker": "boolean", "visits": "integer"}
MLFLOW_TYPES = {"number": "double", "string": "string", "boolean": "boolean", "integer": "long"}
WARDS = ["cardio", "neuro", "ortho"]
_BUILT = {}


def training_frame(n=240, seed=0):
    """Rows whose label depends on every column, so a wrong column changes the answer."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.uniform(20, 90, n).round(1), "ward": rng.choice(WARDS, n),
                          "smoker": rng.choice([True, False], n), "visits": rng.integers(0, 12, n)})
    score = (frame.age - 55) / 20 + (frame.ward == "cardio") + 0.8 * frame.smoker + (frame.visits - 6) / 4
    return frame, np.where(score > 0.5, "readmitted", "home")


def write_mlflow_dir(path):
    """An MLflow sklearn directory (pickle format) with a column signature and an input example."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, y = training_frame()
    pipeline = Pipeline([
        ("columns", ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), ["ward", "smoker"]),
                                       ("numbers", StandardScaler(), ["age", "visits"])])),
        ("model", LogisticRegression(max_iter=500)),
    ]).fit(frame, y)
    path.mkdir(parents=True)
    (path / "model.pkl").write_bytes(pickle.dumps(pipeline))
    signature = json.dumps([{"name": f, "type": MLFLOW_TYPES[TYPES[f]]} for f in FEATURES])
    (path / "MLmodel").write_text(
        "flavors:\n  sklearn:\n    pickled_model: model.pkl\n    serialization_format: pickle\n"
        f"signature:\n  inputs: '{signature}'\n", encoding="utf-8")
    example = frame.head(30)
    (path / "input_example.json").write_text(json.dumps({"columns": FEATURES, "data": example.values.tolist()},
                                                        default=lambda v: v.item()), encoding="utf-8")
    return pipeline


def typed_repository(model_dir, tmp_path_factory):
    """A copy of the bundled models plus ``NAME``, built once per session."""
    if str(model_dir) not in _BUILT:
        root = tmp_path_factory.mktemp("typed")
        repository = root / "artifacts"
        shutil.copytree(model_dir, repository)
        write_mlflow_dir(root / "mlflow-model")
        add(root / "mlflow-model", NAME, repository)
        _BUILT[str(model_dir)] = repository
    return _BUILT[str(model_dir)]
