"""marshmallow schemas of the responses (and V2 bodies), for the OpenAPI document only.

Requests are validated by ``schemas.py`` and ``body.py``; these describe what the server sends,
so that clients (and the schemathesis run in the tests) can check every answer against them.
"""

from marshmallow import Schema, fields

Number = fields.Float
Probabilities = fields.Dict(keys=fields.String(), values=fields.Float(), metadata={"description": "label -> p"})


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    version = fields.String(required=True)


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"example": "ready"})
    models = fields.Dict(keys=fields.String(), values=fields.List(fields.Integer()), required=True)


class ErrorSchema(Schema):
    error = fields.String(required=True)
    code = fields.String(required=True, metadata={"example": "validation_error"})
    details = fields.Raw(metadata={"description": "field errors or other context"})
    request_id = fields.String(required=True, allow_none=True)


class ModelMetadataSchema(Schema):
    name = fields.String(required=True)
    version = fields.Integer(required=True)
    versions = fields.List(fields.Integer(), required=True)
    framework = fields.String(required=True)
    runtime = fields.String(required=True)
    task = fields.String(required=True)
    inputs = fields.Dict(required=True)
    outputs = fields.Dict(required=True)
    sha256 = fields.String(required=True)
    created = fields.String(required=True, allow_none=True)
    data = fields.Dict(required=True)
    metrics = fields.Dict(required=True)


class ModelListSchema(Schema):
    models = fields.List(fields.Nested(ModelMetadataSchema), required=True)


class ClassPredictionSchema(Schema):
    prediction = fields.String(required=True)
    class_id = fields.Integer(required=True)
    confidence = Number(required=True)
    probabilities = Probabilities


class ClassifierResponseSchema(ClassPredictionSchema):
    model = fields.String(required=True)
    version = fields.Integer(required=True)


class ClassifierBatchResponseSchema(Schema):
    model = fields.String(required=True)
    version = fields.Integer(required=True)
    predictions = fields.List(fields.Nested(ClassPredictionSchema), required=True)


class RegressorResponseSchema(Schema):
    model = fields.String(required=True)
    version = fields.Integer(required=True)
    prediction = fields.List(Number(), required=True)


class RegressorBatchResponseSchema(Schema):
    model = fields.String(required=True)
    version = fields.Integer(required=True)
    predictions = fields.List(fields.List(Number()), required=True)


class ImageResponseSchema(ClassifierResponseSchema):
    class Meta:
        exclude = ("probabilities",)

    top_5 = Probabilities
    inference_time_ms = Number(required=True)


class V2ServerMetadataSchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    extensions = fields.List(fields.String(), required=True)


class V2TensorMetadataSchema(Schema):
    name = fields.String(required=True)
    datatype = fields.String(required=True)
    shape = fields.List(fields.Integer(), required=True)


class V2ModelMetadataSchema(Schema):
    name = fields.String(required=True)
    versions = fields.List(fields.String(), required=True)
    platform = fields.String(required=True)
    inputs = fields.List(fields.Nested(V2TensorMetadataSchema), required=True)
    outputs = fields.List(fields.Nested(V2TensorMetadataSchema), required=True)


class V2TensorSchema(V2TensorMetadataSchema):
    parameters = fields.Dict()
    data = fields.Raw(metadata={"description": "flat or nested list; omitted with binary_data_size"})


class V2RequestedOutputSchema(Schema):
    name = fields.String(required=True)
    parameters = fields.Dict()


class V2InferRequestSchema(Schema):
    id = fields.String()
    parameters = fields.Dict()
    inputs = fields.List(fields.Nested(V2TensorSchema), required=True)
    outputs = fields.List(fields.Nested(V2RequestedOutputSchema))


class V2InferResponseSchema(Schema):
    model_name = fields.String(required=True)
    model_version = fields.String(required=True)
    id = fields.String()
    outputs = fields.List(fields.Nested(V2TensorSchema), required=True)


class V2ErrorSchema(Schema):
    error = fields.String(required=True)


class V2LiveSchema(Schema):
    live = fields.Boolean(required=True)


class V2ReadySchema(Schema):
    ready = fields.Boolean(required=True)


class V2ModelReadySchema(Schema):
    name = fields.String(required=True)
    ready = fields.Boolean(required=True)
