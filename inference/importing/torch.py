"""A ``torch.nn.Module`` from a notebook, exported to ONNX and checked against eager PyTorch, so
the server never needs its Python class."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from inference.core import golden
from inference.core.runtimes.base import softmax
from inference.importing.candidate import Candidate
from inference.importing.signature import NUMBER, SignatureError

PARITY_TOLERANCE = 1e-5
ONNX_OPSET = 17


def _eager(module: Any, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()


def candidate(module: Any, frame: Any, *, labels: list[str] | None, task: str | None) -> Candidate:
    """A Candidate for ``module`` taking the sample's columns as one float row each."""
    import torch

    features = list(map(str, frame.columns))
    x = frame.to_numpy(dtype=np.float64)
    task = task or ("classification" if labels else "regression")
    module = module.eval()
    out = _eager(module, x)
    if out.ndim != 2:
        raise SignatureError(f"the module must return a 2-D tensor [batch, outputs], got shape {list(out.shape)}")
    if task == "classification":
        if not labels:
            raise SignatureError("a classifier needs labels=[...], one per output of the module")
        if len(labels) != out.shape[1]:
            raise SignatureError(f"labels names {len(labels)} classes, the module gives {out.shape[1]} outputs")
    rng = np.random.default_rng(42)
    random_rows = rng.uniform(x.min(axis=0), x.max(axis=0), size=(2000, x.shape[1]))
    cand = Candidate(framework="onnx", task=task, features=features, types={f: {"type": NUMBER} for f in features},
                     file="model.onnx", write_files=lambda folder: None, labels=labels,
                     output_names=None if task == "classification" else [f"output_{i}" for i in range(out.shape[1])],
                     scores="logits" if task == "classification" else None, sample=frame,
                     source={"kind": "torch.nn.Module", "class": type(module).__qualname__,
                             "libraries": {"torch": torch.__version__}})

    def write_files(folder: Path) -> None:
        path = folder / "model.onnx"
        example = torch.from_numpy(np.ascontiguousarray(x[:2], dtype=np.float32))
        with warnings.catch_warnings():  # the TorchScript-based exporter announces its deprecation
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (example,), str(path), input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=ONNX_OPSET,
                              dynamo=False)
        from inference.core.onnx_runtime import Session

        session = Session(path)
        parity: dict[str, Any] = {"tolerance": PARITY_TOLERANCE}
        for label, rows in (("sample", x), ("random", random_rows)):
            expected, got = _eager(module, rows), session.run(rows)
            if task == "classification":
                expected, got = softmax(expected), softmax(got)
            parity[label] = {"rows": len(rows), "max_abs_diff": golden.difference(expected, got)}
        diff = max(parity["sample"]["max_abs_diff"], parity["random"]["max_abs_diff"])
        parity["passed"] = diff <= PARITY_TOLERANCE
        if not parity["passed"]:
            raise SignatureError(f"the ONNX export differs from eager PyTorch by {diff:.3g} > {PARITY_TOLERANCE:g}; "
                                 "nothing was written")
        cand.source["parity"] = parity
        cand.notes.append(f"exported to ONNX; parity with eager PyTorch {diff:.2g} over {len(x)} sample and "
                          f"{len(random_rows)} random rows")

    cand.write_files = write_files
    return cand
