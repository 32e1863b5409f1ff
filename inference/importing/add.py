"""``inference add PATH --name NAME``: a joblib/pickle/skops file, an ONNX file or an MLflow model
directory becomes the next version of NAME, checked and hashed, or nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inference.core.manifest import sha256_file
from inference.core.runtimes.sklearn import load_estimator as read_estimator
from inference.importing import mlflow, onnx, signature
from inference.importing import sklearn as sk
from inference.importing.candidate import Candidate, copy_into
from inference.importing.signature import SignatureError

PICKLE_SUFFIXES = (".pkl", ".pickle")
WEIGHTS_NAMES = {"joblib": "model.joblib", "pickle": "model.pkl", "skops": "model.skops"}
PICKLE_WARNING = ("this file is a pickle: loading it runs code from it. It was loaded here to inspect it; the server "
                  "loads it only after checking its SHA-256, and not at all while its verified ONNX twin serves")


class TrustError(ValueError):
    """A skops file needs types that the operator has not confirmed with --trust."""


def serialization_of(path: Path) -> str:
    """joblib, pickle or skops, from the file's suffix."""
    if path.suffix == ".skops":
        return "skops"
    return "pickle" if path.suffix in PICKLE_SUFFIXES else "joblib"


def load_estimator(path: Path, serialization: str, trust: list[str],
                   claimed: list[str] | None = None) -> tuple[Any, list[str]]:
    """The estimator in ``path`` (read the way the server's runtime reads it) and the skops types it
    needed, every one of them confirmed by ``trust``."""
    needed: list[str] = []
    if serialization == "skops":
        import skops.io

        needed = sorted(skops.io.get_untrusted_types(file=path))
        unconfirmed = [t for t in needed if t not in trust]
        if unconfirmed:
            claim = f"; MLflow's MLmodel lists {claimed} (shown, not trusted on its own)" if claimed else ""
            raise TrustError(f"{path.name} builds types beyond skops' defaults: {', '.join(needed)}{claim}. Review "
                             f"them, then confirm with --trust {','.join(needed)}; nothing was written")
    try:  # a pickle runs code here: the operator's own file, and ``add`` says so
        return read_estimator(path, serialization, needed), needed
    except Exception as exc:
        raise SignatureError(f"cannot read {path.name} as a {serialization} file: "
                             f"{type(exc).__name__}: {exc}") from None


def from_estimator_file(path: Path, *, serialization: str, sample: Any, features: list[str] | None,
                        types: dict[str, dict[str, Any]] | None, labels: list[str] | None, task: str | None,
                        trust: list[str], source: dict[str, Any], claimed: list[str] | None = None) -> Candidate:
    """A Candidate for a scikit-learn estimator saved with joblib, pickle or skops."""
    estimator, needed = load_estimator(path, serialization, trust, claimed)
    described = sk.describe(estimator, sample=sample, features=features, types=types, labels=labels, task=task)
    file = WEIGHTS_NAMES[serialization]
    cand = sk.candidate(estimator, described, file=file, serialization=serialization,
                        write_weights=copy_into(path, file),
                        source={**source, "libraries": sk.library_versions()}, trusted_types=needed)
    if serialization != "skops":
        cand.notes.append(PICKLE_WARNING)
    return cand


def build(path: Path, *, sample_path: Path | None = None, features: list[str] | None = None,
          labels: list[str] | None = None, task: str | None = None, trust: list[str] | None = None) -> Candidate:
    """The Candidate for whatever ``path`` holds."""
    trust = trust or []
    if not path.exists():
        raise SignatureError(f"{path} does not exist")
    sample = signature.read_sample(sample_path) if sample_path else None
    if mlflow.is_mlflow_dir(path):
        mlmodel = mlflow.read_mlmodel(path)
        name, settings = mlflow.flavour(mlmodel)
        file = mlflow.model_file(path, name, settings)
        sig_features, sig_types = mlflow.signature_of(mlmodel)
        features = features or sig_features
        if sample is None:
            sample = mlflow.example(path, mlmodel, features)
        source = {**mlflow.provenance(path, mlmodel, name, settings), "file": file.name, "sha256": sha256_file(file)}
        if name == "onnx":
            return onnx.candidate(file, features=features, types=sig_types, sample=sample, labels=labels,
                                  task=task, source=source)
        return from_estimator_file(file, serialization=mlflow.serialization(settings), sample=sample,
                                   features=features, types=sig_types, labels=labels, task=task, trust=trust,
                                   source=source, claimed=settings.get("skops_trusted_types"))
    if path.is_dir():
        raise SignatureError(f"{path} is a directory without an MLmodel file: give a model file or an MLflow model")
    source = {"kind": "onnx" if path.suffix == ".onnx" else serialization_of(path), "path": path.name,
              "sha256": sha256_file(path)}
    if path.suffix == ".onnx":
        return onnx.candidate(path, features=features, sample=sample, labels=labels, task=task, source=source)
    return from_estimator_file(path, serialization=serialization_of(path), sample=sample, features=features,
                               types=None, labels=labels, task=task, trust=trust, source=source)


def add(path: Path | str, name: str, model_dir: Path | str, **options: Any) -> tuple[Path, Candidate]:
    """Add the model at ``path`` as the next version of ``name``; return its folder and what was checked."""
    cand = build(Path(path), **options)
    return cand.publish(model_dir, name), cand
