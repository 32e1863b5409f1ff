"""marshmallow schemas for request bodies: `features` (one instance) or `inputs` (a batch), as the README shows.

Big batches are validated vectorised: one pass over element types at C speed, then a single
numpy conversion and a finiteness check. Python-level loops run only to name the first bad
value in an error.
"""

import math
from dataclasses import dataclass
from itertools import chain

import numpy as np
from marshmallow import Schema, ValidationError, fields, post_load, validates_schema

from inference.core.errors import check_batch

NUMBER_TYPES = {int, float}  # exact types: bool is a subclass of int and must be refused
NOT_A_NUMBER = "Not a number."
NOT_FINITE = "Not a finite number."


def _value_error(value):
    if type(value) not in NUMBER_TYPES:
        return NOT_A_NUMBER
    try:
        return None if math.isfinite(value) else NOT_FINITE
    except OverflowError:  # an integer too large for a double
        return NOT_FINITE


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


def named_row(row):
    """Check one ``{feature name: number}`` object; return it unchanged."""
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
            return [named_row(value)]
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
                    named_row(row)
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


class TabularRequestSchema(Schema):
    """Exactly one of ``features`` (one instance) or ``inputs`` (a batch); nothing else."""

    features = Instance(metadata={"description": "One instance: numbers in feature order, or name -> number."})
    inputs = Rows(metadata={"description": "A batch: lists of numbers, or objects of name -> number."})

    def __init__(self, max_rows=10_000, **kwargs):
        super().__init__(**kwargs)
        self.max_rows = max_rows

    @validates_schema(pass_original=True)
    def _exactly_one(self, data, original, **kwargs):
        present = [key for key in ("features", "inputs") if key in original]
        if len(present) != 1:
            raise ValidationError("Provide exactly one of 'features' or 'inputs'.", "_schema")

    @post_load
    def _make(self, data, **kwargs):
        if "features" in data:
            return TabularRequest(data["features"], single=True)
        return TabularRequest(data["inputs"], single=False)
