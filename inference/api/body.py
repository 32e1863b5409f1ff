"""Reading a request body as a JSON object: 400 for what is not one, 413 over the size limit,
415 for other content types."""

import orjson
from flask import request
from marshmallow import Schema, fields

from inference.core.errors import BadRequest, InvalidBody, MalformedJSON, UnsupportedMediaType
from inference.core.images import decode_base64

MULTIPART = "multipart/form-data"


class MissingFile(BadRequest):
    code = "missing_file"


class ImageRequestSchema(Schema):
    """JSON body for image models: ``{"image": "<base64>"}``, a ``data:image/...;base64,`` prefix allowed."""

    image = fields.String(required=True, metadata={"description": "base64 PNG or JPEG"})


IMAGE_SCHEMA = ImageRequestSchema()


def is_json(mimetype):
    """True for application/json and any ``+json`` type."""
    return mimetype == "application/json" or mimetype.endswith("+json")


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
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        # orjson also rejects NaN, Infinity and numbers that overflow a double.
        raise MalformedJSON(f"malformed JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidBody(f"the body must be a JSON object, not {type(body).__name__}")
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
