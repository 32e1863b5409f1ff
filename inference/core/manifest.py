"""The model manifest (``model.json``): reading, checking, hashing. docs/models.md ("The
manifest") describes the layout and every key."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from inference.core.errors import IntegrityError, ManifestError

MANIFEST_NAME = "model.json"
TASKS = ("classification", "regression")
SCORES = ("logits", "probabilities")
FEATURE_TYPES = ("number", "integer", "boolean", "string")
SERIALIZATIONS = ("joblib", "pickle", "skops")  # how a scikit-learn file was written
MAX_GOLDEN_ROWS = 20
# A weights file is a bare name inside its version folder: no separators, no "..".
WEIGHTS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# A version is a positive integer written in ASCII digits ("²" and "１" pass str.isdigit, not this).
VERSION_NAME = re.compile(r"[1-9][0-9]*")
HASH_CHUNK = 1 << 20


def parse_version_name(text: str) -> int | None:
    """The version number a folder name or URL segment spells, or None when it spells none."""
    return int(text) if VERSION_NAME.fullmatch(text) else None


def _known_framework(name: str) -> bool:
    from inference.core.runtimes import RUNTIMES  # the runtimes register the framework names

    if name not in RUNTIMES:
        raise ValidationError(f"unknown framework {name!r}; this server runs {sorted(RUNTIMES)}")
    return True


def sha256_file(path: Path | str) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _ImageSchema(Schema):
    """How a picture becomes the model's input (see inference/core/images.py)."""

    class Meta:
        unknown = "include"

    width = fields.Integer(required=True, validate=validate.Range(min=1))
    height = fields.Integer(required=True, validate=validate.Range(min=1))
    channels = fields.Integer(load_default=1, validate=validate.OneOf((1,)))
    max_value = fields.Float(required=True)  # a full-ink pixel; background is 0
    invert = fields.String(load_default="auto", validate=validate.OneOf(("auto", "always", "never")))


class _FeatureTypeSchema(Schema):
    """One feature's type; a string feature may list the categories seen in training."""

    type = fields.String(required=True, validate=validate.OneOf(FEATURE_TYPES))
    categories = fields.List(fields.String(), load_default=None)


class _InputsSchema(Schema):
    features = fields.List(fields.String(), validate=validate.Length(min=1))
    # name -> type; a feature left out is a number. Models with a string or boolean feature take
    # a DataFrame (``frame``), as do estimators fitted on one.
    types = fields.Dict(keys=fields.String(), values=fields.Nested(_FeatureTypeSchema), load_default=None)
    frame = fields.Boolean(load_default=False)
    image = fields.Nested(_ImageSchema)
    dtype = fields.String(load_default="float32")
    shape = fields.List(fields.Integer(), load_default=None)

    @validates_schema
    def _one_kind(self, data, **kwargs):
        if ("features" in data) == ("image" in data):
            raise ValidationError("inputs need exactly one of features or image")
        unknown = set(data.get("types") or ()) - set(data.get("features") or ())
        if unknown:
            raise ValidationError(f"types names features the model does not have: {sorted(unknown)}")


class _GoldenSchema(Schema):
    """Sample rows and the outputs the serving runtime gave for them when the version was written."""

    inputs = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1, max=MAX_GOLDEN_ROWS))
    outputs = fields.List(fields.List(fields.Float(allow_nan=False)), required=True)
    tolerance = fields.Float(required=True, validate=validate.Range(min=0))

    @validates_schema
    def _paired(self, data, **kwargs):
        if len(data["inputs"]) != len(data["outputs"]):
            raise ValidationError("golden needs one output row per input row")


class _OutputsSchema(Schema):
    labels = fields.List(fields.String())
    names = fields.List(fields.String())
    scores = fields.String(validate=validate.OneOf(SCORES))  # a classifier's forward output; default by framework


class _ArchitectureSchema(Schema):
    name = fields.String(required=True)
    kwargs = fields.Dict(keys=fields.String(), load_default=dict)


class _StandardizeSchema(Schema):
    mean = fields.List(fields.Float(allow_nan=False), required=True)
    scale = fields.List(fields.Float(allow_nan=False), required=True)


class _PreprocessingSchema(Schema):
    standardize = fields.Nested(_StandardizeSchema, load_default=None)


class _ServingSchema(Schema):
    coalesce = fields.Boolean()
    max_batch_rows = fields.Integer(validate=validate.Range(min=1))


class _CompiledSchema(Schema):
    """A compiled twin of the weights (e.g. a forest converted to ONNX), checked for parity."""

    class Meta:
        unknown = "include"

    format = fields.String(required=True, validate=validate.OneOf(("onnx",)))
    file = fields.String(required=True, validate=validate.Regexp(WEIGHTS_NAME))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    parity = fields.Dict(required=True)


class _FeatureReferenceSchema(Schema):
    """One feature's reference statistics (``inference.core.reference``)."""

    kind = fields.String(required=True, validate=validate.OneOf(("number", "category")))
    proportions = fields.List(fields.Float(allow_nan=False), required=True, validate=validate.Length(min=1))
    edges = fields.List(fields.Float(allow_nan=False))
    min = fields.Float(allow_nan=False)
    max = fields.Float(allow_nan=False)
    categories = fields.List(fields.String())
    truncated = fields.Boolean()  # categories: rarer ones were counted as "other"

    @validates_schema
    def _bins(self, data, **kwargs):
        if data["kind"] == "number":
            if not all(k in data for k in ("edges", "min", "max")):
                raise ValidationError("a number's reference needs edges, min and max")
            if list(data["edges"]) != sorted(set(data["edges"])):
                raise ValidationError("edges must be increasing")
            bins = len(data["edges"]) + 1
        else:
            if "categories" not in data:
                raise ValidationError("a category's reference needs categories")
            bins = len(data["categories"]) + 1  # the last bucket is "other"
        if len(data["proportions"]) != bins:
            raise ValidationError(f"proportions needs {bins} shares (one per bin)")


class _ReferenceSchema(Schema):
    """Statistics of the data a version was trained on (or sampled from), for drift and range checks."""

    source = fields.String(required=True)
    rows = fields.Integer(required=True, validate=validate.Range(min=1))
    features = fields.Dict(keys=fields.String(), values=fields.Nested(_FeatureReferenceSchema), required=True)


class ManifestSchema(Schema):
    """Checks a manifest's structure; unknown keys are kept out of the dataclass."""

    class Meta:
        unknown = "exclude"

    name = fields.String(required=True, validate=validate.Regexp(MODEL_NAME))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    framework = fields.String(required=True, validate=_known_framework)
    task = fields.String(required=True, validate=validate.OneOf(TASKS))
    file = fields.String(required=True, validate=validate.Regexp(WEIGHTS_NAME))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    architecture = fields.Nested(_ArchitectureSchema, load_default=None)
    inputs = fields.Nested(_InputsSchema, required=True)
    outputs = fields.Nested(_OutputsSchema, required=True)
    preprocessing = fields.Nested(_PreprocessingSchema, load_default=None)
    created = fields.String(load_default=None)
    data = fields.Dict(load_default=dict)
    metrics = fields.Dict(load_default=dict)
    source = fields.Dict(load_default=None)
    serving = fields.Nested(_ServingSchema, load_default=None)
    compiled = fields.Nested(_CompiledSchema, load_default=None)
    golden = fields.Nested(_GoldenSchema, load_default=None)
    reference = fields.Nested(_ReferenceSchema, load_default=None)
    serialization = fields.String(load_default=None, validate=validate.OneOf(SERIALIZATIONS))
    # skops: the types beyond skops' defaults that the operator confirmed the file may build
    trusted_types = fields.List(fields.String(), load_default=list)

    @validates_schema
    def _consistent(self, data, **kwargs):
        if data["framework"] == "pytorch" and not data.get("architecture"):
            raise ValidationError("pytorch models need an architecture", "architecture")
        outputs = data["outputs"]
        if data["task"] == "classification" and not outputs.get("labels"):
            raise ValidationError("classifiers need outputs.labels", "outputs")
        if data["task"] == "regression" and not outputs.get("names"):
            raise ValidationError("regressors need outputs.names", "outputs")
        standardize = (data.get("preprocessing") or {}).get("standardize")
        image = data["inputs"].get("image")
        n_features = image["width"] * image["height"] if image else len(data["inputs"]["features"])
        if standardize and not (len(standardize["mean"]) == len(standardize["scale"]) == n_features):
            raise ValidationError("standardize needs one mean and scale per feature", "preprocessing")
        reference = data.get("reference")
        unknown = set(reference["features"]) - set(data["inputs"].get("features") or ()) if reference else set()
        if unknown:
            raise ValidationError(f"reference names features the model does not have: {sorted(unknown)}", "reference")

    @post_load
    def _make(self, data, **kwargs):
        return Manifest(**data)


@dataclass
class Manifest:
    """One model version as described by its ``model.json``."""

    name: str
    version: int
    framework: str
    task: str
    file: str
    sha256: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    architecture: dict[str, Any] | None = None
    preprocessing: dict[str, Any] | None = None
    created: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] | None = None
    serving: dict[str, Any] | None = None
    compiled: dict[str, Any] | None = None
    golden: dict[str, Any] | None = None
    reference: dict[str, Any] | None = None
    serialization: str | None = None
    trusted_types: list[str] = field(default_factory=list)
    directory: Path = field(default_factory=Path)

    @property
    def key(self) -> str:
        """``name/version``, as logs and readiness name a version."""
        return f"{self.name}/{self.version}"

    @property
    def features(self) -> list[str] | None:
        """Feature names in the order the model expects them (None for image models)."""
        return self.inputs.get("features")

    def feature_type(self, name: str) -> dict[str, Any]:
        """``{"type": ..., "categories": ...}`` of one feature (numbers unless the manifest says otherwise)."""
        return (self.inputs.get("types") or {}).get(name) or {"type": "number"}

    @cached_property
    def typed(self) -> bool:
        """True when a feature is a string or a boolean: such rows are validated by name and type
        and reach the model as a DataFrame instead of a float matrix."""
        return any(t["type"] in ("string", "boolean") for t in (self.inputs.get("types") or {}).values())

    @cached_property
    def frame(self) -> bool:
        """True when the model takes a DataFrame (typed features, or an estimator fitted on one)."""
        return bool(self.inputs.get("frame")) or self.typed

    @property
    def image(self) -> dict[str, Any] | None:
        """The image input spec, or None for tabular models."""
        return self.inputs.get("image")

    @property
    def labels(self) -> list[str] | None:
        """Class labels (classifiers) or None."""
        return self.outputs.get("labels")

    @property
    def weights_path(self) -> Path:
        """Absolute path of the weights file."""
        return self.directory / self.file

    def files(self) -> dict[str, str]:
        """Every file of the version and its recorded SHA-256: the weights, and a compiled twin."""
        files = {self.file: self.sha256}
        if self.compiled:
            files[self.compiled["file"]] = self.compiled["sha256"]
        return files

    def verify_all(self) -> None:
        """``verify`` every file of the version (a twin serves; the weights are its fallback)."""
        for file, sha256 in self.files().items():
            self.verify(file, sha256)

    def verify(self, file: str | None = None, sha256: str | None = None) -> None:
        """Raise IntegrityError unless the weights file (or ``file``) hashes to the recorded SHA-256.

        Messages name the file inside the repository (``name/version/file``), never an absolute path.
        """
        file = file or self.file
        where = f"{self.key}/{file}"
        path = self.directory / file
        expected = sha256 or self.sha256
        if not path.is_file():
            raise ManifestError(f"weights file {where} is missing")
        actual = sha256_file(path)
        if actual != expected:
            raise IntegrityError(
                f"sha256 mismatch for {where}: manifest says {expected}, file is {actual}; refusing to deserialise it"
            )


def _where(path: Path) -> str:
    """``name/version/model.json``: where a manifest is, inside the repository."""
    return "/".join(path.parts[-3:])


def read_manifest(version_dir: Path | str, check_location: bool = True) -> Manifest:
    """Read and check ``<version_dir>/model.json``; raise ManifestError when unusable.

    ``check_location=False`` skips the name/version-folder checks, for a version still being
    written under a temporary folder name (inference.export).
    """
    version_dir = Path(version_dir)
    path = version_dir / MANIFEST_NAME
    where = _where(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{where} is missing") from None
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{where} is not readable JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ManifestError(f"{where} must hold a JSON object")
    try:
        manifest = ManifestSchema().load(raw)
    except ValidationError as exc:
        raise ManifestError(f"{where} is invalid: {exc.messages}") from None
    if check_location and version_dir.name != str(manifest.version):
        raise ManifestError(f"{where} says version {manifest.version} but lies in {version_dir.name}/")
    if check_location and version_dir.parent.name != manifest.name:
        raise ManifestError(f"{where} says name {manifest.name} but lies in {version_dir.parent.name}/")
    manifest.directory = version_dir.resolve()
    return manifest


def write_manifest(version_dir: Path | str, manifest_dict: dict[str, Any]) -> None:
    """Write ``model.json`` atomically (temp file, then rename)."""
    path = Path(version_dir) / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest_dict, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def version_dirs(model_dir: Path | str | os.PathLike[str], name: str) -> dict[int, Path]:
    """Return ``{version: path}`` for the version-named folders under ``model_dir/name``."""
    root = Path(model_dir) / name
    if not root.is_dir():
        return {}
    found = {}
    for p in root.iterdir():
        version = parse_version_name(p.name)
        if version is not None and p.is_dir():
            found[version] = p
    return found


def find_version(model_dir: Path | str | os.PathLike[str], name: str, version: str | int | None = None) -> Manifest:
    """The manifest of ``name`` at ``version`` (ASCII digits or an int; None or "latest": the highest)."""
    versions = version_dirs(model_dir, name)
    if not versions:
        raise ManifestError(f"no model {name!r} in {model_dir}")
    if version in (None, "", "latest"):
        number: int | None = max(versions)
    elif isinstance(version, int):
        number = version
    else:
        number = parse_version_name(str(version))
    if number is None or number not in versions:
        raise ManifestError(f"{name} has no version {version!r}; it has {sorted(versions)}")
    return read_manifest(versions[number])


def model_names(model_dir: Path | str) -> list[str]:
    """Return the model folder names under ``model_dir``, sorted."""
    root = Path(model_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and MODEL_NAME.match(p.name))
