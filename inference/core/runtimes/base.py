"""The runtime lifecycle shared by every framework: load -> preprocess -> forward -> postprocess.

``forward`` is the model call and the only step that runs under the model's lock (see
``inference.core.served``); preprocess and postprocess run in the caller's thread, so a
merged batch is split back per caller before its outputs are checked and shaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from inference.core.errors import OutOfRange

if TYPE_CHECKING:
    from inference.core.manifest import Manifest

# What a classifier's forward pass gives: raw scores to softmax, or probabilities already.
LOGITS = "logits"
PROBABILITIES = "probabilities"


class Runtime:
    """One model version: the file it loads, how its inputs are prepared and its outputs read."""

    framework: ClassVar[str]  # the manifest's ``framework`` this class serves
    engine: ClassVar[str]  # what computes the answer (metadata ``runtime``): "pytorch", "onnxruntime", ...
    v2_platform: ClassVar[str]  # the Open Inference Protocol's platform name
    default_scores: ClassVar[str] = LOGITS  # a classifier's forward output, unless the manifest says otherwise

    def __init__(self, manifest: Manifest, artifact: dict[str, Any] | None = None):
        """``artifact`` (``{"file", "sha256", ...}``) names another file of the version to run, such
        as a compiled twin; by default the manifest's weights file runs."""
        self.manifest = manifest
        self.file: str = artifact["file"] if artifact else manifest.file
        self.sha256: str = artifact["sha256"] if artifact else manifest.sha256
        self.scores: str = ((artifact or {}).get("scores") or manifest.outputs.get("scores")
                            or self.default_scores)
        self.model: Any = None
        # A DataFrame for an estimator fitted on one, unless this artifact takes a float matrix
        # (the ONNX twin of a forest fitted on numeric columns).
        self.frame: bool = manifest.frame and (artifact or {}).get("input") != "matrix"
        standardize = (manifest.preprocessing or {}).get("standardize")
        self._mean = np.asarray(standardize["mean"]) if standardize else None
        self._scale = np.asarray(standardize["scale"]) if standardize else None

    @property
    def is_classifier(self) -> bool:
        return self.manifest.task == "classification"

    @property
    def path(self) -> Path:
        """The file this runtime loads."""
        return self.manifest.directory / self.file

    def load(self) -> Runtime:
        """Check the SHA-256 of the version's files, then deserialise the one that runs. Never the
        other way round. The weights file is checked even when a twin runs: it is the fallback."""
        self.manifest.verify_all()
        self.model = self.deserialize(self.path)
        return self

    def deserialize(self, path: Path) -> Any:
        """Read the verified file into the object that ``forward`` calls."""
        raise NotImplementedError

    def preprocess(self, x: Any) -> Any:
        """The model's input from a float64 matrix of raw feature values: the manifest's
        standardisation, or, for a model that takes a DataFrame, one with its columns."""
        if self.frame:
            if isinstance(x, np.ndarray):
                import pandas as pd

                x = pd.DataFrame(x, columns=self.manifest.features)
            return x
        if self._mean is not None:
            with np.errstate(over="ignore"):  # beyond float64 becomes inf, which postprocess refuses
                x = (x - self._mean) / self._scale
        return x

    @staticmethod
    def concat(parts: list[Any]) -> Any:
        """One batch from several requests' prepared inputs (matrices or DataFrames), for coalescing."""
        if hasattr(parts[0], "iloc"):
            import pandas as pd

            return pd.concat(parts, ignore_index=True)
        return np.concatenate(parts)

    def forward(self, x: Any) -> np.ndarray:
        """The model call on a prepared batch: raw scores or values, one row per input row."""
        raise NotImplementedError

    def postprocess(self, raw: np.ndarray) -> np.ndarray:
        """Probabilities (classifiers) or values (regressors) from ``forward``'s output, checked finite."""
        out = np.asarray(raw)
        out = out.reshape(len(out), -1)
        if self.is_classifier:
            out = softmax(out) if self.scores == LOGITS else normalise(out)
        if not np.isfinite(out).all():
            # e.g. 1e300 is a finite JSON number but infinite in float32: say so rather than answer NaN.
            raise OutOfRange("the model's output is not finite for these inputs: some values are outside the "
                             "range the model computes in (float32)")
        return out

    def predict(self, x: Any) -> np.ndarray:
        """All steps in this thread, without a lock (tests, exports, parity checks)."""
        return self.postprocess(self.forward(self.preprocess(x)))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax in float64, so that each row sums to 1 within 1e-6 whatever the model computed in."""
    z = logits.astype(np.float64)  # a copy: computed in place from here
    with np.errstate(invalid="ignore", over="ignore"):
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
    return z


def normalise(probabilities: np.ndarray) -> np.ndarray:
    """Probabilities as float64 rows that sum to 1. float32 ones are renormalised (a forest's
    float32 sum of 100 votes of 0.01 is 0.9999993, not 1) and rounded to the 7 decimals float32
    carries, so that 0.97 is written 0.97 and not 0.9700000286102295."""
    if probabilities.dtype == np.float64:
        return probabilities
    p = probabilities.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.round(p / p.sum(axis=1, keepdims=True), 7)


def as_float32(x: np.ndarray) -> np.ndarray:
    """A contiguous float32 copy; values beyond float32 become inf, which postprocess refuses."""
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(x, dtype=np.float32)
