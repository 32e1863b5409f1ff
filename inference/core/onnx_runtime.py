"""ONNX Runtime sessions (the optional ``onnx`` extra). Importing this module fails with
ImportError when onnxruntime is not installed; callers fall back or skip the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from inference.core.runtimes.base import as_float32


class Session:
    """One ONNX model on the CPU, one thread (the worker's share of the cores), float32 in."""

    def __init__(self, path: Path | str, output: str | None = None, threads: int = 1):
        """``output``: the name of the output to return when the graph has it, else the first one."""
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [(i.name, i.type) for i in self.session.get_inputs()]
        self.input_name = self.inputs[0][0]
        names = [o.name for o in self.session.get_outputs()]
        self.output_name = output if output in names else names[0]

    def run(self, x: Any) -> np.ndarray:
        """Return the chosen output for a 2-D batch (a matrix, or a DataFrame for graphs that take
        one input per column), in the dtype the model computed."""
        if hasattr(x, "iloc"):
            feed = {name: column(x[name].to_numpy(), kind) for name, kind in self.inputs}
        else:
            feed = {self.input_name: as_float32(x)}
        return self.session.run([self.output_name], feed)[0]


def column(values: np.ndarray, kind: str) -> np.ndarray:
    """One DataFrame column as the (rows, 1) tensor an ONNX input of type ``kind`` takes."""
    if kind == "tensor(string)":
        return values.astype(str).astype(object).reshape(-1, 1)
    if kind == "tensor(int64)":
        return values.astype(np.int64).reshape(-1, 1)
    if kind == "tensor(bool)":
        return values.astype(bool).reshape(-1, 1)
    if kind == "tensor(double)":
        return values.astype(np.float64).reshape(-1, 1)
    return as_float32(values).reshape(-1, 1)
