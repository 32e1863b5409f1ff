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
    served = fields.Dict(required=True, metadata={"description": "the file that computes the answers and its "
                                                  "SHA-256, the weights file it comes from, the row block"})
    reference = fields.Dict(required=True, allow_none=True,
                            metadata={"description": "source, rows and ranges of the training data statistics"})


class ModelListSchema(Schema):
    models = fields.List(fields.Nested(ModelMetadataSchema), required=True)


class InputWarningSchema(Schema):
    feature = fields.String(required=True)
    value = fields.Raw(required=True)
    kind = fields.String(required=True, metadata={"example": "above_range"})
    range = fields.List(Number(), metadata={"description": "[min, max] of the training data"})
    categories = fields.List(fields.String(), metadata={"description": "categories the training data held"})


Warnings = fields.List(fields.Nested(InputWarningSchema),
                       metadata={"description": "values outside the training range"})
BatchWarnings = fields.List(fields.List(fields.Nested(InputWarningSchema)),
                            metadata={"description": "one list per row"})


class ClassPredictionSchema(Schema):
    prediction = fields.String(required=True)
    class_id = fields.Integer(required=True)
    confidence = Number(required=True)
    probabilities = Probabilities


class ClassifierResponseSchema(ClassPredictionSchema):
    model = fields.String(required=True)
    version = fields.Integer(required=True)
    warnings = Warnings


class ClassifierBatchResponseSchema(Schema):
    model = fields.String(required=True)
    version = fields.Integer(required=True)
    predictions = fields.List(fields.Nested(ClassPredictionSchema), required=True)
    warnings = BatchWarnings


class RegressorResponseSchema(Schema):
    model = fields.String(required=True)
    version = fields.Integer(required=True)
    prediction = fields.List(Number(), required=True)
    warnings = Warnings


class RegressorBatchResponseSchema(Schema):
    model = fields.String(required=True)
    version = fields.Integer(required=True)
    predictions = fields.List(fields.List(Number()), required=True)
    warnings = BatchWarnings


class ImageResponseSchema(ClassifierResponseSchema):
    class Meta:
        exclude = ("probabilities", "warnings")

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
    parameters = fields.Dict(metadata={"description": "warnings: out-of-range values, a list per row, as JSON text"})


class V2ErrorSchema(Schema):
    error = fields.String(required=True)


class V2LiveSchema(Schema):
    live = fields.Boolean(required=True)


class V2ReadySchema(Schema):
    ready = fields.Boolean(required=True)


class V2ModelReadySchema(Schema):
    name = fields.String(required=True)
    ready = fields.Boolean(required=True)


class DriftFeatureSchema(Schema):
    psi = Number(required=True, allow_none=True)
    reading = fields.String(required=True, metadata={"example": "stable"})
    reference = fields.List(Number(), required=True, metadata={"description": "training data share per bin"})
    observed = fields.List(Number(), required=True, allow_none=True, metadata={"description": "served share per bin"})
    edges = fields.List(Number())
    categories = fields.List(fields.String())


class DriftReportSchema(Schema):
    model = fields.String(required=True)
    version = fields.Integer(required=True)
    reference = fields.Dict(required=True, allow_none=True)
    rows = fields.Integer(required=True, allow_none=True, metadata={"description": "rows served, all workers"})
    reading = fields.String(required=True)
    features = fields.Dict(keys=fields.String(), values=fields.Nested(DriftFeatureSchema), required=True)
    max_psi = Number(allow_none=True)
    thresholds = fields.Dict()
    epsilon = Number()
    noise_psi = Number(allow_none=True)
    note = fields.String()
