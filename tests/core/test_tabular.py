import numpy as np
import pytest

from inference.core.errors import ValidationFailed
from inference.core.tabular import classification_rows, regression_rows, to_matrix

FEATURES = ["a", "b", "c"]


def test_positional_rows_pass_through():
    m = np.ones((2, 3))
    assert to_matrix(m, FEATURES) is m


def test_wrong_width_names_the_field():
    with pytest.raises(ValidationFailed) as exc:
        to_matrix(np.ones((1, 2)), FEATURES, "features")
    assert "features" in exc.value.details


def test_named_rows_are_put_in_feature_order():
    m = to_matrix([{"c": 3, "a": 1, "b": 2}], FEATURES)
    np.testing.assert_array_equal(m, [[1.0, 2.0, 3.0]])


def test_named_rows_missing_and_extra_names():
    with pytest.raises(ValidationFailed) as exc:
        to_matrix([{"a": 1, "b": 2}, {"a": 1, "b": 2, "d": 4}], FEATURES)
    assert exc.value.details == {"inputs": {"0": {"c": ["Missing data for required field."]}}}


def test_classification_rows():
    rows = classification_rows(np.array([[0.1, 0.7, 0.2]]), ["x", "y", "z"])
    assert rows == [{"prediction": "y", "class_id": 1, "confidence": 0.7,
                     "probabilities": {"x": 0.1, "y": 0.7, "z": 0.2}}]


def test_regression_rows():
    assert [r.tolist() for r in regression_rows(np.array([[1.5], [2.5]]))] == [[1.5], [2.5]]
