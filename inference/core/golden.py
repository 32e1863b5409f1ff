"""Golden outputs: up to 20 sample rows stored in a version's manifest with the outputs that the
runtime that serves it gave when the version was written. Every worker replays them when it loads
the version, so a library upgrade that changed the model's behaviour, or an edited file, is caught
before the version serves."""

from __future__ import annotations

from typing import Any

import numpy as np

from inference.core.errors import ManifestError
from inference.core.manifest import MAX_GOLDEN_ROWS
from inference.core.runtimes import Runtime
from inference.core.tabular import model_input

# Probabilities agree within this (absolute); values within this times max(1, |value|).
TOLERANCE = 1e-5


class GoldenMismatch(ManifestError):
    """A version's outputs differ from its golden outputs beyond the tolerance."""


def model_rows(runtime: Runtime, rows: list[Any]) -> Any:
    """Golden rows (name->value objects or positional lists) in the runtime's input form."""
    if rows and isinstance(rows[0], dict):
        return model_input(rows, runtime.manifest)
    return np.asarray(rows, dtype=np.float64)


def difference(expected: np.ndarray, got: np.ndarray) -> float:
    """The largest difference, relative to the value's size beyond 1."""
    expected = np.asarray(expected, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64).reshape(expected.shape)
    return float((np.abs(got - expected) / np.maximum(1.0, np.abs(expected))).max())


def record(runtime: Runtime, rows: list[Any], tolerance: float = TOLERANCE) -> dict[str, Any]:
    """The manifest's ``golden`` entry: the first ``MAX_GOLDEN_ROWS`` rows and the runtime's outputs."""
    rows = list(rows)[:MAX_GOLDEN_ROWS]
    outputs = runtime.predict(model_rows(runtime, rows))
    return {"inputs": rows, "outputs": np.asarray(outputs, dtype=np.float64).tolist(), "tolerance": tolerance}


def replay(runtime: Runtime) -> float | None:
    """The largest difference between the runtime's outputs and the golden ones (None: no golden rows)."""
    golden = runtime.manifest.golden
    if not golden:
        return None
    return difference(np.asarray(golden["outputs"]), runtime.predict(model_rows(runtime, golden["inputs"])))


def check(runtime: Runtime) -> float | None:
    """Raise GoldenMismatch when the runtime no longer gives its golden outputs; return the difference."""
    diff = replay(runtime)
    golden = runtime.manifest.golden
    if diff is not None and golden is not None and not diff <= golden["tolerance"]:
        raise GoldenMismatch(f"golden outputs differ: largest difference {diff:.3g} > tolerance "
                             f"{golden['tolerance']:g} over {len(golden['inputs'])} rows ({runtime.engine})")
    return diff
