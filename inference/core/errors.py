"""Exceptions that carry their HTTP status and a stable error code.

The core raises these; exactly one place (``inference.api.errors``) renders them.
"""

from __future__ import annotations

from typing import Any


class InferenceError(Exception):
    """Base class: a message for humans, a stable code for machines, optional details."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: Any = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}


class BadRequest(InferenceError):
    status = 400
    code = "bad_request"


class MalformedJSON(BadRequest):
    code = "malformed_json"


class InvalidBody(BadRequest):
    code = "invalid_body"


class ValidationFailed(BadRequest):
    code = "validation_error"


class OutOfRange(BadRequest):
    """Finite inputs that the model cannot compute with (they overflow its float32 arithmetic)."""

    code = "input_out_of_range"


class Unauthorized(InferenceError):
    status = 401
    code = "unauthorized"


class ModelNotFound(InferenceError):
    status = 404
    code = "model_not_found"


class VersionNotFound(InferenceError):
    status = 404
    code = "version_not_found"


class PayloadTooLarge(InferenceError):
    status = 413
    code = "payload_too_large"


class BatchTooLarge(PayloadTooLarge):
    code = "batch_too_large"


def check_batch(rows: int, max_rows: int) -> None:
    """Raise BatchTooLarge when a request holds more than ``max_rows`` rows (MAX_BATCH_ROWS)."""
    if rows > max_rows:
        raise BatchTooLarge(f"the batch has {rows} rows; the limit is {max_rows} (MAX_BATCH_ROWS)",
                            {"rows": rows, "max_rows": max_rows})


class UnsupportedMediaType(InferenceError):
    status = 415
    code = "unsupported_media_type"


class NotReady(InferenceError):
    status = 503
    code = "not_ready"


class ModelUnavailable(InferenceError):
    status = 503
    code = "model_unavailable"


class ManifestError(Exception):
    """A manifest is missing, malformed or inconsistent with its files."""


class IntegrityError(ManifestError):
    """A weights file does not match the SHA-256 recorded in its manifest."""
