"""Reading a request body as a JSON object (400 for what is not one, 413, 415), and the checks
every body passes first: its size however it arrives, and its Content-Encoding."""

import orjson
from flask import request
from marshmallow import Schema, fields
from werkzeug.exceptions import RequestEntityTooLarge

from inference.core.errors import BadRequest, InvalidBody, MalformedJSON, UnsupportedMediaType
from inference.core.images import decode_base64

MULTIPART = "multipart/form-data"
# No request body of this API is an object with more than a handful of members (features, inputs,
# image; V2: id, inputs, outputs, parameters). Far more is an attack on the validator, which would
# spend seconds listing every unknown one (500,000 keys: 2.6 s of CPU), so it is refused first.
MAX_MEMBERS = 64


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


def has_body():
    """True when the request carries a body: a non-zero Content-Length, or chunked transfer."""
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def check_body():
    """Refuse, before any view reads it, a body the server would misread (a ``before_request`` hook).

    A Content-Encoding (gzip, br, ...) is 415: the server decodes none, and reading compressed
    bytes as JSON would be a misleading 400 (or plain JSON labelled gzip would pass as plain).
    A body sent without Content-Length (chunked) is read here, one byte past MAX_CONTENT_LENGTH:
    Werkzeug's limited stream stops at the limit without saying so, which let the valid JSON
    start of a larger body through. Over the limit is 413 however the body arrives; within it,
    the body stays cached for the view (JSON, V2 and multipart readers alike).
    """
    if not has_body():
        return
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding!r} is not supported; send the body uncompressed (identity)",
            {"content_encoding": encoding}, headers={"Accept-Encoding": "identity"},
        )
    limit = request.max_content_length
    if limit is None or request.content_length is not None:
        return  # with a Content-Length, Werkzeug refuses a body over the limit before reading it
    request.max_content_length = limit + 1
    if len(request.get_data(cache=True, parse_form_data=False)) > limit:
        raise RequestEntityTooLarge()


def read_json_object(hint=""):
    """Return the body as a dict. No Content-Type is read as JSON; another type is 415."""
    if request.mimetype and not is_json(request.mimetype):
        if request.mimetype == "application/x-www-form-urlencoded":
            hint = " (curl -d sends this type: add -H 'Content-Type: application/json')"
        raise UnsupportedMediaType(
            f"Content-Type {request.mimetype!r} is not supported; send application/json{hint}",
            {"content_type": request.mimetype},
        )
    data = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH raises 413 here
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
