"""The one place that turns exceptions into JSON error bodies ({"error", "code", "details", "request_id"}).
Never a stack trace."""

import logging

import orjson
from flask import current_app, g, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from inference.core.errors import InferenceError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    417: "expectation_failed",
    431: "request_header_fields_too_large",
    500: "internal_error",
    501: "not_implemented",
}
# What an error may echo back: a client that sends 500,000 unknown keys gets the first few named,
# not a 14 MB answer. The first problem is always in the message itself.
MAX_DETAIL_ENTRIES = 20
MAX_DETAIL_TEXT = 200
MAX_DETAIL_BYTES = 4096
TRUNCATED = "_truncated"  # marks details that were cut (a leading "_", like marshmallow's "_schema")


def _cap(value, budget):
    """``value`` with at most ``budget[0]`` entries in all (dict items and list items), strings cut."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if budget[0] <= 0:
                budget[1] = True
                break
            budget[0] -= 1
            out[str(key)[:MAX_DETAIL_TEXT]] = _cap(item, budget)
        return out
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            if budget[0] <= 0:
                budget[1] = True
                break
            budget[0] -= 1
            out.append(_cap(item, budget))
        return out
    if isinstance(value, str) and len(value) > MAX_DETAIL_TEXT:
        budget[1] = True
        return value[:MAX_DETAIL_TEXT] + "..."
    return value


def cap_details(details, entries=MAX_DETAIL_ENTRIES, max_bytes=MAX_DETAIL_BYTES):
    """``details`` cut to a few entries and a few KiB; a dict with ``"_truncated": true`` when cut."""
    while True:
        budget = [entries, False]
        capped = _cap(details, budget)
        if budget[1]:
            capped = {**capped, TRUNCATED: True} if isinstance(capped, dict) else {"items": capped, TRUNCATED: True}
        if entries <= 1 or len(orjson.dumps(capped, default=str)) <= max_bytes:
            return capped
        entries //= 2


def error_body(code, message, request_id, details=None):
    """The JSON error object: ``{"error", "code", "details"?, "request_id"}``, details capped."""
    body = {"error": message, "code": code}
    if details:
        body["details"] = cap_details(details)
    body["request_id"] = request_id
    return body


V2_BLUEPRINT = "v2"  # the Open Inference Protocol's routes answer errors as {"error": "..."}


def error_response(status, code, message, details=None, headers=None):
    """Build the JSON error response every failure uses: the native shape, or the Open Inference
    Protocol's ``{"error": "..."}`` on its routes; the exception's headers either way."""
    if request.blueprint == V2_BLUEPRINT:
        body = {"error": message}
    else:
        body = error_body(code, message, g.get("request_id"), details)
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
    """An error the server raised on purpose: its status, code, details and headers."""
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


def handle_validation_error(exc):
    """A request that failed its schema: 400 naming the first problem, details for every field."""
    return error_response(400, "validation_error", f"invalid request: {_first_problem(exc.messages)}",
                          exc.messages)


def handle_http_exception(exc):
    """Routing and Werkzeug errors (404, 405, 413, ...) as JSON."""
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
    """A bug: logged with the request id and its traceback, answered 500 without one."""
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
