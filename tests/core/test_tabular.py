import numpy as np
import pytest

from inference.core.errors import ValidationFailed
from inference.core.manifest import Manifest
from inference.core.prediction import Prediction
from inference.core.runtimes.base import Runtime
from inference.core.served import ServedModel
from inference.core.tabular import to_matrix

FEATURES = ["a", "b", "c"]


def _manifest(task="regression", labels=None):
    outputs = {"labels": labels} if labels else {"names": ["y"]}
    return Manifest(name="m", version=1, framework="sklearn", task=task, file="f", sha256="0" * 64,
                    inputs={"features": FEATURES}, outputs=outputs)


def test_positional_rows_pass_through():
    m = np.ones((2, 3))
    assert to_matrix(m, _manifest()) is m


def test_wrong_width_names_the_field():
    with pytest.raises(ValidationFailed) as exc:
        to_matrix(np.ones((1, 2)), _manifest(), "features")
    assert "features" in exc.value.details
    assert "each row needs 3 values (a, b, c), got 2" in exc.value.message


def test_named_rows_are_put_in_feature_order():
    m = to_matrix([{"c": 3, "a": 1, "b": 2}], _manifest())
    np.testing.assert_array_equal(m, [[1.0, 2.0, 3.0]])


def test_named_rows_missing_and_extra_names():
    with pytest.raises(ValidationFailed) as exc:
        to_matrix([{"a": 1, "b": 2}, {"a": 1, "b": 2, "d": 4}], _manifest())
    assert exc.value.details == {"inputs": {"0": {"c": ["Missing data for required field."]}}}


def _prediction(outputs, **manifest):
    return Prediction(ServedModel(Runtime(_manifest(**manifest))), np.asarray(outputs), 0.001)


def test_classification_body():
    p = _prediction([[0.1, 0.7, 0.2]], task="classification", labels=["x", "y", "z"])
    assert p.body(single=True) == {"model": "m", "version": 1, "prediction": "y", "class_id": 1, "confidence": 0.7,
                                   "probabilities": {"x": 0.1, "y": 0.7, "z": 0.2}}
    assert p.body(single=False)["predictions"] == [p.classification_rows()[0]]
    assert p.predicted_labels == ["y"]


def test_regression_body():
    p = _prediction([[1.5], [2.5]])
    body = p.body(single=False)
    assert [r.tolist() for r in body["predictions"]] == [[1.5], [2.5]]
    assert p.body(single=True)["prediction"].tolist() == [1.5]


def test_image_body_lists_the_top_five():
    labels = [str(d) for d in range(10)]
    p = _prediction([np.linspace(0.0, 0.18, 10)], task="classification", labels=labels)
    body = p.image_body()
    assert list(body["top_5"]) == ["9", "8", "7", "6", "5"] and body["prediction"] == "9"
    assert body["inference_time_ms"] == 1.0
