"""Reading a request body as a JSON object (SPEC 3.4: 400, 413, 415)."""

import orjson
from flask import request

from inference.core.errors import InvalidBody, MalformedJSON, UnsupportedMediaType


def is_json(mimetype):
    """True for application/json and any ``+json`` type."""
    return mimetype == "application/json" or mimetype.endswith("+json")


def read_json_object():
    """Return the body as a dict. No Content-Type is read as JSON; another type is 415."""
    if request.mimetype and not is_json(request.mimetype):
        hint = " (curl -d sends this type: add -H 'Content-Type: application/json')" \
            if request.mimetype == "application/x-www-form-urlencoded" else ""
        raise UnsupportedMediaType(
            f"Content-Type {request.mimetype!r} is not supported; send application/json{hint}",
            {"content_type": request.mimetype},
        )
    data = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH raises 413 here
    if not data.strip():
        raise InvalidBody("the request body is empty; send a JSON object")
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        # orjson also rejects NaN, Infinity and numbers that overflow a double.
        raise MalformedJSON(f"malformed JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidBody(f"the body must be a JSON object, not {type(body).__name__}")
    return body
