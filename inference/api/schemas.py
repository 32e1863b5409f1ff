"""marshmallow schemas for request bodies: `features` (one instance) or `inputs` (a batch), as the README shows.

Big batches are validated vectorised: one pass over element types at C speed, then a single
numpy conversion and a finiteness check. Python-level loops run only to name the first bad
value in an error.
"""

import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validates_schema

from inference.core.errors import check_batch

NUMBER_TYPES = {int, float}  # exact types: bool is a subclass of int and must be refused
NOT_A_NUMBER = "Not a number."
NOT_FINITE = "Not a finite number."
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _value_error(value):
    if type(value) not in NUMBER_TYPES:
        return NOT_A_NUMBER
    try:
        return None if math.isfinite(value) else NOT_FINITE
    except OverflowError:  # an integer too large for a double
        return NOT_FINITE


def _all_finite_numbers(values):
    """True when every value is a finite int or float (not a bool, not too large for a double)."""
    try:
        return all((type(v) is float or type(v) is int) and math.isfinite(v) for v in values)
    except OverflowError:
        return False


def numeric_matrix(rows):
    """Return ``rows`` (lists of numbers, all the same length) as a float64 matrix, or raise
    ValidationError naming the first bad row and column."""
    width = len(rows[0])
    lengths = set(map(len, rows))
    if lengths != {width} or width == 0:
        for i, row in enumerate(rows):
            if len(row) != width or not row:
                raise ValidationError({i: [f"Row has {len(row)} values; expected {width or 'at least 1'}."]})
    if not set(map(type, chain.from_iterable(rows))) <= NUMBER_TYPES:
        _raise_first_bad(rows)
    try:
        matrix = np.array(rows, dtype=np.float64)
    except OverflowError:
        _raise_first_bad(rows)
    if not np.isfinite(matrix).all():
        i, j = np.argwhere(~np.isfinite(matrix))[0].tolist()
        raise ValidationError({i: {j: [NOT_FINITE]}})
    return matrix


def _raise_first_bad(rows):
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if message := _value_error(value):
                raise ValidationError({i: {j: [message]}})


EXTRA_NAMES = 64  # unknown names in one row reported one by one; beyond, the row is refused in one line


def too_many_names(row, width):
    """A ValidationError for an object naming far more entries than the model has features
    (checked before anything else: 500,000 invented names must not be validated one by one)."""
    if width is not None and len(row) > width + EXTRA_NAMES:
        return ValidationError([f"Names {len(row)} features; the model has {width}."])
    return None


def named_row(row, width=None):
    """Check one ``{feature name: number}`` object; return it unchanged."""
    if error := too_many_names(row, width):
        raise error
    errors = {name: [msg] for name, value in row.items() if (msg := _value_error(value))}
    if errors:
        raise ValidationError(errors)
    if not row:
        raise ValidationError(["Must name at least one feature."])
    return row


class Instance(fields.Field):
    """``features``: one instance, a list of numbers or an object of feature name to number."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list):
            if not value:
                raise ValidationError("Must hold at least one value.")
            try:
                return numeric_matrix([value])
            except ValidationError as exc:
                raise ValidationError(exc.messages[0]) from None  # drop the row index
        if isinstance(value, dict):
            return [named_row(value, self.parent.width)]
        raise ValidationError("Must be a list of numbers or an object of feature name to number.")


class Rows(fields.Field):
    """``inputs``: a batch, a list of rows that are all lists of numbers or all objects."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise ValidationError("Must be a list of rows.")
        if not value:
            raise ValidationError("Must hold at least one row.")
        check_batch(len(value), self.parent.max_rows)
        kinds = set(map(type, value))
        if kinds == {list}:
            return numeric_matrix(value)
        if kinds == {dict}:
            errors = {}
            for i, row in enumerate(value):
                try:
                    named_row(row, self.parent.width)
                except ValidationError as exc:
                    errors[i] = exc.messages
            if errors:
                raise ValidationError(errors)
            return value
        raise ValidationError("Rows must be all lists of numbers or all objects of feature name to number.")


@dataclass
class TabularRequest:
    """A validated tabular request: a float matrix or named rows, and whether it was one instance."""

    rows: object
    single: bool

    @property
    def field(self):
        return "features" if self.single else "inputs"


class RequestEnvelope(Schema):
    """Exactly one of ``features`` (one instance) or ``inputs`` (a batch); nothing else."""

    @validates_schema(pass_original=True)
    def _exactly_one(self, data, original, **kwargs):
        present = [key for key in ("features", "inputs") if key in original]
        if len(present) != 1:
            raise ValidationError("Provide exactly one of 'features' or 'inputs'.", "_schema")

    @post_load
    def _make(self, data, **kwargs):
        single = "features" in data
        return self.checked(TabularRequest(data["features"] if single else data["inputs"], single))

    def checked(self, request):
        """Checks that need the whole request; subclasses add theirs."""
        return request


class TabularRequestSchema(RequestEnvelope):
    """A numeric model's request, validated vectorised."""

    features = Instance(metadata={"description": "One instance: numbers in feature order, or name -> number."})
    inputs = Rows(metadata={"description": "A batch: lists of numbers, or objects of name -> number."})

    def __init__(self, max_rows=10_000, integers=(), width=None, **kwargs):
        """``integers``: ``(position, name)`` of the features whose values must be integral;
        ``width``: the model's feature count (an object naming more is refused at once)."""
        super().__init__(**kwargs)
        self.max_rows = max_rows
        self.integers = tuple(integers)
        self.width = width

    def load(self, data, *, many=None, partial=None, unknown=None):
        """Validate ``data`` into a TabularRequest. The commonest request, ``{"features": [numbers]}``
        with nothing else, is checked here directly (the same rules: finite JSON numbers, not
        booleans, at least one); it would pass the fields unchanged, and marshmallow's walk over
        every field and hook cost more than the check. Anything else, valid or not, takes the full way."""
        if many is None and partial is None and unknown is None and type(data) is dict and len(data) == 1:
            row = data.get("features")
            if type(row) is list and row and _all_finite_numbers(row):
                return self.checked(TabularRequest(np.array([row], dtype=np.float64), True))
        return super().load(data, many=many, partial=partial, unknown=unknown)

    def checked(self, request):
        if self.integers:
            _check_integral(request, self.integers)
        return request


def _check_integral(request, integers):
    """Integer features hold integral numbers (checked vectorised for a matrix)."""
    rows = request.rows
    for position, name in integers:
        if isinstance(rows, np.ndarray):
            if position >= rows.shape[1]:
                continue  # a width mismatch is reported by the model's own check
            column = rows[:, position]
            bad = np.flatnonzero(column != np.round(column))
            where = position
        else:
            bad = [i for i, row in enumerate(rows) if name in row and row[name] != int(row[name])]
            where = name
        if len(bad):
            error = {where: ["Not an integer."]}
            raise ValidationError({request.field: error if request.single else {int(bad[0]): error}})


@lru_cache(maxsize=1024)
def schema_for(model, max_rows):
    """The request schema of one loaded model version, built once: typed rows for models with string
    or boolean features, else the vectorised numeric schema (checking integer features)."""
    m = model.manifest
    if m.typed:
        return TypedRequestSchema(m, max_rows)
    integers = [(i, name) for i, name in enumerate(m.features or ()) if m.feature_type(name)["type"] == "integer"]
    return TabularRequestSchema(max_rows=max_rows, integers=integers, width=len(m.features or ()) or None)


# --- Typed features ---------------------------------------------------------------------------
# Models with string or boolean features are validated row by row against their signature:
# each value must have its feature's declared type, and every row names every feature.


class StrictNumber(fields.Field):
    """A finite JSON number (booleans, strings, null, NaN and Infinity refused)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if message := _value_error(value):
            raise ValidationError(message)
        return float(value)


class StrictInteger(fields.Field):
    """An integral JSON number (``3`` or ``3.0``; not ``3.5``, not ``true``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if _value_error(value) or value != int(value):
            raise ValidationError("Not an integer.")
        # The model's DataFrame column is int64. A float at -2**63 is a JSON integer beyond it that
        # the parser rounded (orjson reads integers within 64 bits as int): out of range too.
        if not INT64_MIN <= value <= INT64_MAX or (type(value) is float and value == INT64_MIN):
            raise ValidationError("Out of range for a 64-bit integer.")
        return int(value)


class StrictBoolean(fields.Field):
    """``true`` or ``false`` only (not 1, not "yes")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is not bool:
            raise ValidationError("Not a boolean: send true or false.")
        return value


FEATURE_FIELDS = {"number": StrictNumber, "integer": StrictInteger, "boolean": StrictBoolean,
                  "string": lambda **kw: fields.String(**kw)}


def row_schema(manifest):
    """A schema of one row of the model's features, each with its declared type; all required, no extras."""
    spec = {name: FEATURE_FIELDS[manifest.feature_type(name)["type"]](required=True) for name in manifest.features}
    return Schema.from_dict(spec, name=f"{manifest.name}-row")(unknown=RAISE)


class TypedRows(fields.Field):
    """``features`` (one row) or ``inputs`` (a batch) for a model with typed features: rows are
    objects by feature name, or lists in feature order."""

    def __init__(self, single, **kwargs):
        super().__init__(**kwargs)
        self.single = single

    def _deserialize(self, value, attr, data, **kwargs):
        schema = self.parent
        features = schema.feature_names
        rows = [value] if self.single else value
        if not isinstance(rows, list) or (self.single and not isinstance(value, (dict, list))):
            raise ValidationError("Must be an object of feature name to value, or a list of values in feature order."
                                  if self.single else "Must be a list of rows.")
        if not rows:
            raise ValidationError("Must hold at least one row.")
        check_batch(len(rows), schema.max_rows)
        named, errors = [], {}
        for i, row in enumerate(rows):
            if isinstance(row, list):
                if len(row) != len(features):
                    errors[i] = [f"Row has {len(row)} values; expected {len(features)} ({', '.join(features)})."]
                    continue
                row = dict(zip(features, row, strict=True))
            elif not isinstance(row, dict):
                errors[i] = ["Must be an object of feature name to value, or a list of values in feature order."]
                continue
            elif error := too_many_names(row, len(features)):
                errors[i] = error.messages
                continue
            try:
                named.append(schema.rows.load(row))
            except ValidationError as exc:
                errors[i] = exc.messages
        if errors:
            raise ValidationError(errors[0] if self.single else errors)
        return named


class TypedRequestSchema(RequestEnvelope):
    """A request for a model whose features have declared types, validated row by row."""

    def __init__(self, manifest, max_rows=10_000, **kwargs):
        super().__init__(**kwargs)
        self.max_rows = max_rows
        self.feature_names = list(manifest.features)
        self.rows = row_schema(manifest)

    features = TypedRows(single=True)
    inputs = TypedRows(single=False)
