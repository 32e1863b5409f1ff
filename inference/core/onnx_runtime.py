"""ONNX Runtime sessions (the optional ``onnx`` extra). Importing this module fails with
ImportError when onnxruntime is not installed; callers fall back or skip the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from inference.core.runtimes.base import as_float32

VERSION = ort.__version__


class Session:
    """One ONNX model on the CPU, one thread (the worker's share of the cores), float32 in."""

    def __init__(self, path: Path | str, output: str | None = None, threads: int = 1):
        """``output``: the name of the output to return when the graph has it, else the first one."""
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        names = [o.name for o in self.session.get_outputs()]
        self.output_name = output if output in names else names[0]

    def run(self, x: np.ndarray) -> np.ndarray:
        """Return the chosen output for a 2-D batch, in the dtype the model computed."""
        return self.session.run([self.output_name], {self.input_name: as_float32(x)})[0]
