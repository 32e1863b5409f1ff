"""PyTorch runtimes: a ``state_dict`` in an architecture registered in code, or a TorchScript archive."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from inference.core.runtimes import register
from inference.core.runtimes.base import Runtime, as_float32


@register
class PyTorchRuntime(Runtime):
    """``torch.load(weights_only=True)`` into a registered architecture, run in eval mode."""

    framework = "pytorch"
    engine = "pytorch"
    v2_platform = "pytorch"

    def deserialize(self, path: Path) -> Any:
        import torch

        from inference.core import architectures

        state = torch.load(path, map_location="cpu", weights_only=True)
        arch = self.manifest.architecture or {}
        model = architectures.build(arch["name"], arch.get("kwargs") or {})
        model.load_state_dict(state, strict=True)
        return model.eval()

    def forward(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            # Outputs stay in the float32 the model computed in: JSON then carries a regressor's
            # shortest float32 form (0.6, not 0.6000000238418579); softmax runs in float64.
            return self.model(torch.from_numpy(as_float32(x))).numpy()


@register
class TorchScriptRuntime(PyTorchRuntime):
    """A TorchScript archive (``torch.jit.save``), loaded after the hash check."""

    framework = "torchscript"
    v2_platform = "pytorch_libtorch"

    def deserialize(self, path: Path) -> Any:
        import torch

        with warnings.catch_warnings():  # deprecated in PyTorch 2.13, still supported (docs/models.md, "Formats")
            warnings.simplefilter("ignore", DeprecationWarning)
            model = torch.jit.load(str(path), map_location="cpu")
        return model.eval()
