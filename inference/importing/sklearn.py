"""Fitted scikit-learn estimators and pipelines: what they take and give, and their ONNX twin.

Where skl2onnx converts the estimator and the twin agrees with scikit-learn within 1e-5 on the
sample and on random rows spanning its range, the twin serves and the pickle is never loaded at
serve time (it stays as the fallback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from inference.core import golden
from inference.core.manifest import sha256_file
from inference.importing import signature
from inference.importing.candidate import PARITY_RANDOM_ROWS, PARITY_TOLERANCE, TWIN_FILE, Candidate
from inference.importing.signature import BOOLEAN, INTEGER, NUMBER, STRING, SignatureError

ONNX_OPSET = {"": 17, "ai.onnx.ml": 3}


class EstimatorError(ValueError):
    """The object is not a fitted scikit-learn estimator this server can serve."""


def final_step(estimator: Any) -> Any:
    """The last estimator of a Pipeline (the one that predicts), or the estimator itself."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def check_fitted(estimator: Any) -> None:
    """Raise EstimatorError for an object that is not a fitted estimator."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not hasattr(estimator, "predict"):
        raise EstimatorError(f"a {type(estimator).__name__} is not a scikit-learn estimator (it has no predict)")
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise EstimatorError(f"the {type(estimator).__name__} is not fitted: call fit() before adding it") from None
    except TypeError as exc:
        raise EstimatorError(str(exc)) from None


def fitted_features(estimator: Any) -> list[str] | None:
    """The column names the estimator was fitted with (a DataFrame), or None."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return None
    return [str(n) for n in names]


def describe(estimator: Any, *, sample: Any = None, features: list[str] | None = None,
             types: dict[str, dict[str, Any]] | None = None, labels: list[str] | None = None,
             task: str | None = None, output_names: list[str] | None = None) -> dict[str, Any]:
    """Task, labels, features, types and whether the estimator takes a DataFrame, checked against the sample."""
    check_fitted(estimator)
    fitted = fitted_features(estimator)
    frame = fitted is not None
    if fitted is not None and features is not None and list(features) != fitted:
        raise SignatureError(f"--features {features} differ from the columns the model was fitted with {fitted}")
    features = fitted or features or (list(map(str, sample.columns)) if sample is not None else None)
    if not features:
        raise SignatureError("the model does not carry feature names: give --features a,b,c "
                             "or a --sample with a header")
    width = getattr(estimator, "n_features_in_", len(features))
    if width != len(features):
        raise SignatureError(f"the model takes {width} features, {len(features)} names were given")
    if sample is not None:
        sample = signature.check_sample(sample, features)
    types = dict(types or (signature.types_from_frame(sample, features) if sample is not None
                           else {f: {"type": NUMBER} for f in features}))
    if sample is not None:  # categories of string features come from the sample where the source gave none
        for name, spec in types.items():
            if spec["type"] == STRING and not spec.get("categories"):
                spec.update(signature.feature_type(sample[name]))
    frame = frame or any(t["type"] in (STRING, BOOLEAN) for t in types.values())
    classifier = hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_")
    task = task or ("classification" if classifier else "regression")
    if task == "classification":
        if not classifier:
            raise EstimatorError(f"a {type(final_step(estimator)).__name__} has no predict_proba: add it with "
                                 "--task regression, or serve a classifier that gives probabilities")
        classes = [str(c) for c in estimator.classes_]
        if labels is not None and len(labels) != len(classes):
            raise SignatureError(f"--labels names {len(labels)} classes, the model has {len(classes)}: {classes}")
        labels = labels or classes
    elif labels:
        raise SignatureError("--labels is for classifiers; this is a regressor")
    described = {"task": task, "labels": labels, "features": features, "types": types, "frame": frame,
                 "sample": sample, "output_names": output_names}
    if sample is not None:
        out = np.asarray(predict(estimator, described, sample))
        if task == "regression" and not output_names:
            described["output_names"] = (["prediction"] if out.ndim == 1
                                         else [f"output_{i}" for i in range(out.shape[1])])
    return described


def model_input(described: dict[str, Any], frame: Any) -> Any:
    """What the estimator takes: a DataFrame (fitted on one, or typed columns) or a float matrix."""
    if described["frame"]:
        from inference.core.tabular import FRAME_DTYPES

        return frame.astype({n: FRAME_DTYPES[described["types"][n]["type"]] for n in described["features"]})
    return frame.to_numpy(dtype=np.float64)


def predict(estimator: Any, described: dict[str, Any], frame: Any) -> np.ndarray:
    """Probabilities or values for sample rows, as the server's scikit-learn runtime computes them."""
    x = model_input(described, frame)
    try:
        if described["task"] == "classification":
            return np.asarray(estimator.predict_proba(x), dtype=np.float64)
        return np.asarray(estimator.predict(x), dtype=np.float64)
    except Exception as exc:
        raise SignatureError(f"the sample does not fit the model: {type(exc).__name__}: {exc}") from None


def decimals(values: np.ndarray, most: int = 6) -> int | None:
    """How many decimals every value has (28.1 -> 1), or None when they are not on such a grid."""
    for places in range(most + 1):
        scaled = values * 10**places
        if np.allclose(scaled, np.round(scaled), rtol=0, atol=1e-6):
            return places
    return None


def random_rows(sample: Any, types: dict[str, dict[str, Any]], n: int, seed: int = 42) -> Any:
    """``n`` random rows spanning the sample's range, widened by half of it on each side: numbers
    uniform, rounded to the decimals the sample's values have (real data is recorded on such a
    grid, and a tree's thresholds lie between its points: a float32 twin that splits a grid value
    differently from scikit-learn shows up here), integers likewise, categories drawn from those
    seen, booleans at random."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for name, spec in types.items():
        kind = spec["type"]
        col = sample[name]
        if kind == NUMBER:
            values = col.to_numpy(dtype=np.float64)
            low, high = float(values.min()), float(values.max())
            margin = (high - low) / 2
            drawn = rng.uniform(low - margin, high + margin, n)
            places = decimals(values)
            columns[name] = drawn if places is None else np.round(drawn, places)
        elif kind == INTEGER:
            columns[name] = rng.integers(int(col.min()), int(col.max()) + 1, n)
        elif kind == BOOLEAN:
            columns[name] = rng.integers(0, 2, n).astype(bool)
        else:
            columns[name] = rng.choice(spec.get("categories") or sorted(col.astype(str).unique()), n)
    return pd.DataFrame(columns)


def _initial_types(described: dict[str, Any]) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import BooleanTensorType, FloatTensorType, Int64TensorType, StringTensorType

    if not described["frame"]:
        return [("input", FloatTensorType([None, len(described["features"])]))]
    kinds = {NUMBER: FloatTensorType, INTEGER: Int64TensorType, STRING: StringTensorType, BOOLEAN: BooleanTensorType}
    return [(name, kinds[described["types"][name]["type"]]([None, 1])) for name in described["features"]]


def convert_twin(estimator: Any, described: dict[str, Any], folder: Path) -> tuple[dict[str, Any] | None, str]:
    """Write the ONNX twin into ``folder`` when skl2onnx converts the estimator and parity holds.

    Returns the manifest's ``compiled`` entry (or None) and a sentence for the operator."""
    sample = described["sample"]
    if sample is None:
        return None, "no ONNX twin: parity needs sample rows (--sample); serving with scikit-learn"
    try:
        import onnxruntime
        from skl2onnx import convert_sklearn

        from inference.core.onnx_runtime import Session
        from inference.core.runtimes.base import normalise
    except ImportError as exc:
        return None, f"no ONNX twin ({exc}); serving with scikit-learn"
    classifier = described["task"] == "classification"
    options = {id(final_step(estimator)): {"zipmap": False}} if classifier else None
    # A model fitted on a DataFrame is converted with one input per column; an estimator that
    # takes only one input (a bare forest fitted on numeric columns) gets one matrix input instead.
    matrix = not described["frame"]
    try:
        try:
            onx = convert_sklearn(estimator, initial_types=_initial_types(described), options=options,
                                  target_opset=ONNX_OPSET)
        except Exception:
            if matrix or not all(described["types"][f]["type"] == NUMBER for f in described["features"]):
                raise
            matrix = True
            onx = convert_sklearn(estimator, initial_types=_initial_types({**described, "frame": False}),
                                  options=options, target_opset=ONNX_OPSET)
    except Exception as exc:  # skl2onnx raises many kinds for what it cannot convert
        return None, f"no ONNX twin: skl2onnx cannot convert it ({type(exc).__name__}: {str(exc)[:200]}); " \
                     "serving with scikit-learn"
    path = folder / TWIN_FILE
    path.write_bytes(onx.SerializeToString())
    session = Session(path, output="probabilities" if classifier else None)
    parity: dict[str, Any] = {"tolerance": PARITY_TOLERANCE, "onnxruntime": onnxruntime.__version__}
    for label, rows in (("sample", sample), ("random", random_rows(sample, described["types"], PARITY_RANDOM_ROWS))):
        expected = predict(estimator, described, rows)
        x = rows[described["features"]].to_numpy(dtype=np.float64) if matrix else model_input(described, rows)
        raw = session.run(x)
        got = normalise(raw) if classifier else np.asarray(raw, dtype=np.float64).reshape(expected.shape)
        parity[label] = {"rows": len(rows), "max_abs_diff": golden.difference(expected, got)}
        if classifier:
            parity[label]["argmax_agreement"] = float((got.argmax(1) == expected.argmax(1)).mean())
    diff = max(parity["sample"]["max_abs_diff"], parity["random"]["max_abs_diff"])
    parity["passed"] = diff <= PARITY_TOLERANCE
    if not parity["passed"]:
        path.unlink()
        return None, (f"no ONNX twin: it differs from scikit-learn by {diff:.3g} > {PARITY_TOLERANCE:g}; "
                      "serving with scikit-learn")
    compiled = {"format": "onnx", "file": TWIN_FILE, "sha256": sha256_file(path), "parity": parity,
                "scores": "probabilities"}
    if matrix and described["frame"]:
        compiled["input"] = "matrix"  # the twin takes the rows as a float matrix, not a DataFrame
    return compiled, (f"ONNX twin verified (largest difference {diff:.2g} over {len(sample)} sample and "
                      f"{PARITY_RANDOM_ROWS} random rows): ONNX Runtime serves it, the pickle is not loaded")


def candidate(estimator: Any, described: dict[str, Any], *, file: str, serialization: str,
              write_weights: Any, source: dict[str, Any], trusted_types: list[str] | None = None) -> Candidate:
    """A Candidate for a described estimator; ``write_weights(folder)`` writes ``file``."""
    cand = Candidate(framework="sklearn", task=described["task"], features=described["features"],
                     types=described["types"], file=file, write_files=lambda folder: None,
                     labels=described["labels"], output_names=described["output_names"], frame=described["frame"],
                     serialization=serialization, trusted_types=list(trusted_types or []), source=source,
                     sample=described["sample"])

    def write_files(folder: Path) -> None:
        write_weights(folder)
        cand.compiled, note = convert_twin(estimator, described, folder)
        cand.notes.append(note)

    cand.write_files = write_files
    return cand


def library_versions() -> dict[str, str]:
    """The versions of the libraries that read and ran the model when it was added."""
    import sklearn

    versions = {"scikit-learn": sklearn.__version__}
    try:
        import skl2onnx

        versions["skl2onnx"] = skl2onnx.__version__
    except ImportError:
        pass
    return versions
