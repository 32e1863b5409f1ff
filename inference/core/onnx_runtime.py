"""ONNX Runtime sessions (the optional ``onnx`` extra). Importing this module fails with
ImportError when onnxruntime is not installed; callers fall back or skip the model."""

import numpy as np
import onnxruntime as ort

VERSION = ort.__version__


class Session:
    """One ONNX model on the CPU, one thread (the worker's share of the cores), float32 in."""

    def __init__(self, path, output=None, threads=1):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        names = [o.name for o in self.session.get_outputs()]
        self.output_name = output if output in names else names[-1] if output else names[0]

    def run(self, x):
        """Return the chosen output for a 2-D batch, in the dtype the model computed."""
        return self.session.run([self.output_name], {self.input_name: np.ascontiguousarray(x, dtype=np.float32)})[0]


def probabilities(out):
    """float32 class probabilities as float64, renormalised (a forest's float32 sum of 100 votes
    of 0.01 is 0.9999993, not 1) and rounded to the 7 decimals float32 carries, so that 0.97 is
    written 0.97 and not 0.9700000286102295."""
    p = np.asarray(out, dtype=np.float64)
    return np.round(p / p.sum(axis=1, keepdims=True), 7)
