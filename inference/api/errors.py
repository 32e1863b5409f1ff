"""The one place that turns exceptions into JSON error bodies ({"error", "code", "details", "request_id"}).
Never a stack trace."""

import logging

from flask import current_app, g
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from inference.core.errors import InferenceError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    431: "request_header_fields_too_large",
}


def error_response(status, code, message, details=None, headers=None):
    """Build the JSON error response every failure uses."""
    body = {"error": message, "code": code}
    if details:
        body["details"] = details
    body["request_id"] = g.get("request_id")
    response = current_app.json.response(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _first_problem(messages, path=()):
    """Return 'a.b: message' for the first leaf of marshmallow's nested error dict."""
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        return _first_problem(value, path if key == "_schema" else (*path, str(key)))
    if isinstance(messages, list) and messages:
        first = messages[0]
        if isinstance(first, (dict, list)):
            return _first_problem(first, path)
        return f"{'.'.join(path)}: {first}" if path else str(first)
    return str(messages)


def handle_inference_error(exc):
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


def handle_validation_error(exc):
    return error_response(400, "validation_error", f"invalid request: {_first_problem(exc.messages)}",
                          exc.messages)


def handle_http_exception(exc):
    code = HTTP_CODES.get(exc.code, "http_error")
    headers = {}
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    if exc.code == 404:
        message = "no such route; see GET /models and the README's API table"
    elif exc.code == 405:
        message = f"method not allowed here; use {headers.get('Allow', 'another method')}"
    elif exc.code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        message = f"the request body is larger than MAX_CONTENT_LENGTH ({limit} bytes)"
    else:
        message = exc.description or exc.name
    return error_response(exc.code or 500, code, message, headers=headers)


def handle_unexpected(exc):
    log.exception("unhandled error in request %s", g.get("request_id"),
                  extra={"event": "unhandled_error", "request_id": g.get("request_id")})
    return error_response(500, "internal_error",
                          f"internal server error; quote request id {g.get('request_id')} to the operator")


def init_app(app):
    """Register the handlers; the most specific class wins in Flask."""
    app.register_error_handler(InferenceError, handle_inference_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
