"""MLflow model directories, read without importing mlflow: the ``MLmodel`` file (YAML) names the
flavour and the file, its signature gives the features and their types, ``input_example.json``
the sample rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from inference.importing import signature
from inference.importing.signature import SignatureError

FLAVOURS = ("sklearn", "onnx")
SERIALIZATIONS = {"skops": "skops", "pickle": "pickle", "cloudpickle": "pickle"}


def is_mlflow_dir(path: Path) -> bool:
    return path.is_dir() and (path / "MLmodel").is_file()


def read_mlmodel(path: Path) -> dict[str, Any]:
    """The parsed ``MLmodel`` file."""
    try:
        data = yaml.safe_load((path / "MLmodel").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SignatureError(f"cannot read {path.name}/MLmodel: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict):
        raise SignatureError(f"{path.name}/MLmodel has no flavors")
    return data


def flavour(mlmodel: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The flavour this server reads (sklearn or onnx) and its settings."""
    for name in FLAVOURS:
        if name in mlmodel["flavors"]:
            return name, mlmodel["flavors"][name]
    raise SignatureError(f"unsupported MLflow flavour(s) {sorted(mlmodel['flavors'])}: this server reads "
                         f"{', '.join(FLAVOURS)}")


def model_file(path: Path, name: str, settings: dict[str, Any]) -> Path:
    """The model file the flavour names, which must lie inside the directory."""
    relative = settings.get("pickled_model") if name == "sklearn" else settings.get("data")
    if not isinstance(relative, str):
        raise SignatureError(f"the {name} flavour names no model file")
    file = (path / relative).resolve()
    if path.resolve() not in file.parents or not file.is_file():
        raise SignatureError(f"the {name} flavour's file {relative!r} is not a file inside the directory")
    return file


def serialization(settings: dict[str, Any]) -> str:
    """How the sklearn flavour's file was written (skops, pickle or cloudpickle)."""
    fmt = settings.get("serialization_format", "cloudpickle")
    if fmt not in SERIALIZATIONS:
        raise SignatureError(f"unsupported sklearn serialization format {fmt!r}")
    return SERIALIZATIONS[fmt]


def signature_of(mlmodel: dict[str, Any]) -> tuple[list[str] | None, dict[str, dict[str, Any]] | None]:
    """Feature names and types from a column-based signature (None for a tensor signature or none)."""
    inputs = (mlmodel.get("signature") or {}).get("inputs")
    if not inputs:
        return None, None
    specs = json.loads(inputs) if isinstance(inputs, str) else inputs
    if not specs or any("name" not in s for s in specs):
        return None, None  # a tensor signature: names come from --features or the sample
    return signature.types_from_mlflow(specs)


def example(path: Path, mlmodel: dict[str, Any], features: list[str] | None) -> Any:
    """The input example as a DataFrame (None when the directory has none)."""
    info = mlmodel.get("saved_input_example_info") or {}
    file = path / info.get("artifact_path", "input_example.json")
    if not file.is_file():
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SignatureError(f"cannot read {file.name}: {exc}") from None
    if isinstance(data, dict) and "inputs" in data:  # ndarray examples may be wrapped
        data = data["inputs"]
    frame = signature.frame_from_json(data)
    if features and list(frame.columns) == list(range(len(frame.columns))) and len(features) == len(frame.columns):
        frame.columns = features
    return frame


def provenance(path: Path, mlmodel: dict[str, Any], name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """What the manifest records of where the model came from."""
    source: dict[str, Any] = {"kind": "mlflow", "path": path.name, "flavour": name,
                              "mlflow_version": mlmodel.get("mlflow_version"),
                              "model_uuid": mlmodel.get("model_uuid")}
    if name == "sklearn":
        source["serialization_format"] = settings.get("serialization_format")
        source["sklearn_version"] = settings.get("sklearn_version")
        if settings.get("skops_trusted_types"):
            source["mlmodel_skops_trusted_types"] = settings["skops_trusted_types"]  # shown, never trusted alone
    else:
        source["onnx_version"] = settings.get("onnx_version")
    return source
