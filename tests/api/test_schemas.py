import numpy as np
import pytest
from marshmallow import ValidationError

from inference.api.schemas import TabularRequestSchema
from inference.core.errors import BatchTooLarge

MIXED = ["Rows must be all lists of numbers or all objects of feature name to number."]


def load(body, max_rows=5):
    return TabularRequestSchema(max_rows=max_rows).load(body)


def test_features_list_is_one_row():
    req = load({"features": [5.1, 3.5, 1, 0.2]})
    assert req.single and req.field == "features"
    np.testing.assert_array_equal(req.rows, [[5.1, 3.5, 1.0, 0.2]])


def test_features_by_name():
    req = load({"features": {"a": 1, "b": 2.5}})
    assert req.single and req.rows == [{"a": 1, "b": 2.5}]


def test_inputs_batch_of_lists_and_of_objects():
    req = load({"inputs": [[1, 2, 3], [0.5, 0.2, 0.1]]})
    assert not req.single and req.rows.shape == (2, 3) and req.rows.dtype == np.float64
    assert load({"inputs": [{"a": 1}, {"a": 2}]}).rows == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize(
    "body, expected",
    [
        ({}, {"_schema": ["Provide exactly one of 'features' or 'inputs'."]}),
        ({"features": [1], "inputs": [[1]]}, {"_schema": ["Provide exactly one of 'features' or 'inputs'."]}),
        ({"features": [1], "extra": 1}, {"extra": ["Unknown field."]}),
        ({"features": [1, True]}, {"features": {1: ["Not a number."]}}),
        ({"features": [1, "2"]}, {"features": {1: ["Not a number."]}}),
        ({"features": [None]}, {"features": {0: ["Not a number."]}}),
        ({"features": [float("nan")]}, {"features": {0: ["Not a finite number."]}}),
        ({"features": [float("inf")]}, {"features": {0: ["Not a finite number."]}}),
        ({"features": [10**400]}, {"features": {0: ["Not a finite number."]}}),
        ({"features": []}, {"features": ["Must hold at least one value."]}),
        ({"features": "1,2"}, {"features": ["Must be a list of numbers or an object of feature name to number."]}),
        ({"features": {"a": False}}, {"features": {"a": ["Not a number."]}}),
        ({"inputs": []}, {"inputs": ["Must hold at least one row."]}),
        ({"inputs": [1, 2]}, {"inputs": MIXED}),
        ({"inputs": [[1, 2], [3]]}, {"inputs": {1: ["Row has 1 values; expected 2."]}}),
        ({"inputs": [[], []]}, {"inputs": {0: ["Row has 0 values; expected at least 1."]}}),
        ({"inputs": [[1, 2], [3, [4]]]}, {"inputs": {1: {1: ["Not a number."]}}}),
        ({"inputs": [[1], {"a": 1}]}, {"inputs": MIXED}),
        ({"inputs": [{"a": 1}, {"a": "x"}]}, {"inputs": {1: {"a": ["Not a number."]}}}),
        ({"inputs": {"a": [1]}}, {"inputs": ["Must be a list of rows."]}),
    ],
)
def test_invalid_bodies_name_the_field(body, expected):
    with pytest.raises(ValidationError) as exc:
        load(body)
    assert exc.value.messages == expected


def test_batch_over_the_limit_is_413_not_400():
    with pytest.raises(BatchTooLarge) as exc:
        load({"inputs": [[1]] * 6}, max_rows=5)
    assert exc.value.status == 413


def test_large_batch_validates_vectorised():
    rows = np.random.default_rng(0).normal(size=(10_000, 4)).tolist()
    rows[9_876][3] = True
    with pytest.raises(ValidationError) as exc:
        load({"inputs": rows}, max_rows=10_000)
    assert exc.value.messages == {"inputs": {9876: {3: ["Not a number."]}}}


ONE_ROW_BODIES = [
    {"features": [5.1, 3.5, 1, 0.2]}, {"features": [0]}, {"features": [-1e308, 1e308]}, {"features": [2, 2.5, 3]},
    {"features": []}, {"features": [True, 1.0]}, {"features": [1, "2"]}, {"features": [1, None]},
    {"features": [10 ** 400]}, {"features": [[1, 2]]}, {"features": [1.0], "extra": 1},
    {"features": [1.0], "inputs": [[1.0]]}, {"features": {"a": 1}}, {"features": "1,2"}, {"Features": [1.0]},
]


@pytest.mark.parametrize("body", ONE_ROW_BODIES)
@pytest.mark.parametrize("integers", [(), ((1, "b"),)])
def test_the_one_row_shortcut_answers_exactly_as_the_full_schema(body, integers):
    """``load`` checks ``{"features": [numbers]}`` itself: the same result, or the same error, as
    marshmallow's full walk over the schema."""
    from marshmallow import Schema

    schema = TabularRequestSchema(integers=integers)

    def outcome(loader):
        try:
            request = loader(body)
        except ValidationError as exc:
            return "error", exc.messages
        return "ok", request.single, request.rows.tolist() if isinstance(request.rows, np.ndarray) else request.rows

    assert outcome(schema.load) == outcome(lambda b: Schema.load(schema, b))
