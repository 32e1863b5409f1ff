"""``inference inspect`` (what a version is, read from its manifest, nothing deserialised) and
``inference verify`` (replay its golden outputs in-process, or against a running server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from inference.core import golden
from inference.core.manifest import Manifest, ManifestError, find_version, model_names, sha256_file, version_dirs
from inference.core.runtimes import engine_for, runtime_for, twin_usable


def resolve(model_dir: Path | str, spec: str) -> Manifest:
    """The manifest ``NAME`` (latest) or ``NAME/VERSION`` names."""
    name, _, version = spec.partition("/")
    return find_version(model_dir, name, version or None)


def every_version(model_dir: Path | str) -> list[str]:
    """``name/version`` of every version in the repository."""
    return [f"{name}/{v}" for name in model_names(model_dir) for v in sorted(version_dirs(model_dir, name))]


def serving_runtime(m: Manifest) -> str:
    """Which runtime would answer (with USE_COMPILED on), decided from the manifest alone."""
    engine = engine_for(m)
    if m.compiled and twin_usable(m) is None:
        return f"{engine} (verified ONNX twin {m.compiled['file']}; {m.framework} {m.file} is the fallback)"
    return engine


def describe(m: Manifest) -> dict[str, Any]:
    """Everything ``inspect`` shows, with each file's hash checked (nothing is deserialised)."""
    hashes = {}
    for file, expected in m.files().items():
        path = m.directory / file
        actual = sha256_file(path) if path.is_file() else None
        hashes[file] = {"sha256": expected, "check": "ok" if actual == expected else
                        ("missing" if actual is None else f"MISMATCH (file is {actual})")}
    return {
        "model": f"{m.name}/{m.version}", "framework": m.framework, "task": m.task,
        "runtime": serving_runtime(m),
        "signature": [{"name": f, **m.feature_type(f)} for f in (m.features or [])] or {"image": m.image},
        "takes": "a DataFrame" if m.frame else "a float matrix",
        "labels": m.labels, "outputs": m.outputs.get("names"),
        "serialization": m.serialization, "trusted_types": m.trusted_types,
        "source": m.source, "files": hashes, "created": m.created,
        "golden": ({"rows": len(m.golden["inputs"]), "tolerance": m.golden["tolerance"]} if m.golden else None),
        "metrics": m.metrics,
    }


def replay_local(m: Manifest) -> float | None:
    """Load the version as a worker would (hashes first) and return the golden difference."""
    return golden.replay(runtime_for(m).load())


def replay_remote(m: Manifest, url: str, api_key: str | None = None, timeout: float = 30.0) -> float | None:
    """POST the golden inputs to a running server and return the largest difference of its answers."""
    import requests

    if not m.golden:
        return None
    headers = {"X-API-Key": api_key} if api_key else {}
    response = requests.post(f"{url.rstrip('/')}/models/{m.name}/versions/{m.version}/predict",
                             json={"inputs": m.golden["inputs"]}, headers=headers, timeout=timeout)
    if response.status_code != 200:
        raise ManifestError(f"the server answered {response.status_code}: {response.text[:300]}")
    served_hash = response.headers.get("X-Model-SHA256")
    if served_hash != m.sha256:
        raise ManifestError(f"the server runs a file with sha256 {served_hash}, the manifest says {m.sha256}")
    predictions = response.json()["predictions"]
    if m.task == "classification":
        got = np.array([[p["probabilities"][label] for label in m.labels or []] for p in predictions])
    else:
        got = np.array(predictions, dtype=np.float64)
    return golden.difference(np.asarray(m.golden["outputs"]), got)
