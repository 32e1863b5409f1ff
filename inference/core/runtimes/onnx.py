"""ONNX models run by ONNX Runtime (the optional ``onnx`` extra): exported versions, and the
verified compiled twins of other versions (``runtime_for``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from inference.core.runtimes import register
from inference.core.runtimes.base import PROBABILITIES, Runtime


@register
class OnnxRuntime(Runtime):
    """One ONNX graph on the CPU; float32 in, the chosen output back."""

    framework = "onnx"
    engine = "onnxruntime"
    v2_platform = "onnxruntime_onnx"

    def deserialize(self, path: Path) -> Any:
        from inference.core import onnx_runtime  # ImportError when the extra is not installed

        # skl2onnx graphs give (label, probabilities): take the probabilities; exports have one output.
        wanted = "probabilities" if self.is_classifier and self.scores == PROBABILITIES else None
        return onnx_runtime.Session(path, output=wanted)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.model.run(x)
