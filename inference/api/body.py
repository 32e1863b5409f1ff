"""Reading a request body as a JSON object (400 for what is not one, 413, 415), and the checks
every body passes first: its size however it arrives, and its Content-Encoding."""

import orjson
from flask import request
from gunicorn.http.errors import ParseException
from marshmallow import Schema, fields
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from inference.core.errors import BadRequest, InferenceError, InvalidBody, MalformedJSON, UnsupportedMediaType
from inference.core.images import decode_base64

MULTIPART = "multipart/form-data"
# No request body of this API is an object with more than a handful of members (features, inputs,
# image; V2: id, inputs, outputs, parameters). Far more is an attack on the validator, which would
# spend seconds listing every unknown one (500,000 keys: 2.6 s of CPU), so it is refused first.
MAX_MEMBERS = 64


# What a body that breaks off or breaks its framing raises while it is read: Gunicorn's chunk
# parser (a bad chunk size, a missing terminator), a connection that ends early, Werkzeug's check.
UNREADABLE = (ParseException, OSError, ClientDisconnected)


class IncompleteBody(BadRequest):
    code = "incomplete_body"


class UnsupportedTransferCoding(InferenceError):
    status = 501
    code = "not_implemented"


class MissingFile(BadRequest):
    code = "missing_file"


class TooManyMembers(BadRequest):
    code = "validation_error"


class ImageRequestSchema(Schema):
    """JSON body for image models: ``{"image": "<base64>"}``, a ``data:image/...;base64,`` prefix allowed."""

    image = fields.String(required=True, metadata={"description": "base64 PNG or JPEG"})


IMAGE_SCHEMA = ImageRequestSchema()


def is_json(mimetype):
    """True for application/json and any ``+json`` type."""
    return mimetype == "application/json" or mimetype.endswith("+json")


def check_body():
    """Read and check, before any view, a body the server would otherwise misread (a
    ``before_request`` hook); the views then read the cached bytes.

    - A Content-Encoding (gzip, br, ...) is 415, and a transfer coding other than chunked (``gzip,
      chunked``) 501: the server decodes neither, and reading compressed bytes as JSON would be a
      misleading 400 (or plain JSON labelled gzip would pass as plain).
    - Over MAX_CONTENT_LENGTH is 413 however the body arrives. With a Content-Length, Werkzeug
      refuses it before reading; a chunked body is read one byte past the limit (Werkzeug's
      limited stream stops at the limit without saying so, which let the valid JSON start of a
      larger body through).
    - A body that breaks off (fewer bytes than its Content-Length: the client half-closed or went
      silent past GUNICORN_CLIENT_IDLE_TIMEOUT) or breaks the chunked framing is 400: a
      truncated request is never answered as if it were whole. (Gunicorn then fails to find the
      next request after the broken one and closes the connection.)
    """
    req = request._get_current_object()  # one context lookup for the several reads below
    expected = req.content_length
    environ = req.environ
    transfer = environ.get("HTTP_TRANSFER_ENCODING")
    if not expected and not (transfer and "chunked" in transfer.lower()):
        return  # no body: a zero Content-Length, or neither a length nor chunked transfer
    encoding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding!r} is not supported; send the body uncompressed (identity)",
            {"content_encoding": encoding}, headers={"Accept-Encoding": "identity"},
        )
    codings = [c.strip().lower() for c in transfer.split(",") if c.strip()] if transfer else []
    if codings and set(codings) - {"chunked", "identity"}:
        raise UnsupportedTransferCoding(
            f"Transfer-Encoding {', '.join(codings)!r} is not supported; send the body plain or only chunked",
            {"transfer_encoding": codings},
        )
    limit = req.max_content_length
    if limit is not None and expected is None:
        req.max_content_length = limit + 1
    try:
        data = req.get_data(cache=True, parse_form_data=False)  # over a Content-Length limit: 413
    except UNREADABLE as exc:
        raise IncompleteBody(f"the request body could not be read: {exc or type(exc).__name__}") from None
    if limit is not None and expected is None and len(data) > limit:
        raise RequestEntityTooLarge()
    if expected is not None and len(data) < expected:
        raise IncompleteBody(f"the request body ended after {len(data)} of the {expected} bytes its Content-Length "
                             "announced", {"received": len(data), "content_length": expected})


def read_json_object(hint=""):
    """Return the body as a dict. No Content-Type is read as JSON; another type is 415."""
    req = request._get_current_object()
    mimetype = req.mimetype
    if mimetype and not is_json(mimetype):
        if mimetype == "application/x-www-form-urlencoded":
            hint = " (curl -d sends this type: add -H 'Content-Type: application/json')"
        raise UnsupportedMediaType(
            f"Content-Type {mimetype!r} is not supported; send application/json{hint}",
            {"content_type": mimetype},
        )
    data = req.get_data(cache=False)  # over MAX_CONTENT_LENGTH raises 413 here
    if not data.strip():
        raise InvalidBody("the request body is empty; send a JSON object")
    try:
        # Duplicate keys: the last one wins, as in Python's json, orjson and JavaScript's JSON.parse.
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        # orjson also rejects NaN, Infinity and numbers that overflow a double.
        raise MalformedJSON(f"malformed JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidBody(f"the body must be a JSON object, not {type(body).__name__}")
    if len(body) > MAX_MEMBERS:
        raise TooManyMembers(f"the body is an object with {len(body)} members; a request has at most {MAX_MEMBERS}",
                             {"members": len(body), "max_members": MAX_MEMBERS})
    return body


def read_image_bytes(model_name):
    """The picture of an image request: multipart field ``file``, or JSON ``{"image": base64}``."""
    if request.mimetype == MULTIPART:
        upload = request.files.get("file")  # over MAX_CONTENT_LENGTH raises 413 here
        if upload is None:
            raise MissingFile("multipart upload needs a 'file' field holding a PNG or JPEG image",
                              {"file": ["Missing data for required field."]})
        return upload.read()
    body = read_json_object(hint=" or multipart/form-data")
    if "features" in body or "inputs" in body:
        raise InvalidBody(f"model {model_name!r} takes an image, not features: send a multipart 'file' field "
                          "or JSON {\"image\": \"<base64>\"}")
    return decode_base64(IMAGE_SCHEMA.load(body)["image"])


def init_app(app):
    """Check every request body before the views read it."""
    app.before_request(check_body)
