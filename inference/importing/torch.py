"""PyTorch modules to ONNX, checked against eager PyTorch: the one conversion used by ``save_model``
(a module from a notebook, so the server never needs its class), by ``inference.export`` and by
the compiled twins of the bundled networks (``inference.train``), which ONNX Runtime then serves."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from inference.core import golden
from inference.core.manifest import sha256_file
from inference.core.runtimes.base import softmax
from inference.importing.candidate import PARITY_RANDOM_ROWS, PARITY_TOLERANCE, TWIN_FILE, Candidate
from inference.importing.signature import NUMBER, SignatureError

ONNX_OPSET = 17


def _eager(module: Any, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()


def write_onnx(module: Any, example: Any, path: Path | str) -> None:
    """``torch.onnx.export`` of ``module`` (one input ``input``, one output ``output``, any batch size)."""
    import torch

    with warnings.catch_warnings():  # the TorchScript-based exporter announces its deprecation
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), str(path), input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=ONNX_OPSET,
                          dynamo=False)


def random_rows(x: np.ndarray, n: int = PARITY_RANDOM_ROWS, seed: int = 42) -> np.ndarray:
    """``n`` rows drawn uniformly between each column's smallest and largest value in ``x``."""
    return np.random.default_rng(seed).uniform(x.min(axis=0), x.max(axis=0), size=(n, x.shape[1]))


def export_checked(module: Any, x: np.ndarray, path: Path, classifier: bool) -> dict[str, Any]:
    """Export ``module`` to ONNX at ``path`` and compare ONNX Runtime with eager PyTorch on the rows
    ``x`` (the module's own inputs) and on random rows around their range: probabilities for a
    classifier (its outputs are logits), outputs otherwise. Returns the parity record (``passed``)."""
    import onnxruntime

    from inference.core.onnx_runtime import Session

    module = module.eval()
    write_onnx(module, _as_tensor(x[:2]), path)
    session = Session(path)
    parity: dict[str, Any] = {"tolerance": PARITY_TOLERANCE, "onnxruntime": onnxruntime.__version__}
    for label, rows in (("sample", x), ("random", random_rows(x))):
        expected, got = _eager(module, rows), session.run(rows)
        if classifier:
            expected, got = softmax(expected), softmax(got)
        parity[label] = {"rows": len(rows), "max_abs_diff": golden.difference(expected, got)}
        if classifier:
            parity[label]["argmax_agreement"] = float((got.argmax(1) == expected.argmax(1)).mean())
    parity["passed"] = max(parity["sample"]["max_abs_diff"], parity["random"]["max_abs_diff"]) <= PARITY_TOLERANCE
    return parity


def _as_tensor(x: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def convert_twin(module: Any, x: np.ndarray, folder: Path, classifier: bool) -> tuple[dict[str, Any] | None, str]:
    """Write the ONNX twin of a version's network into ``folder`` when parity holds.

    ``x``: the network's inputs (after the manifest's standardisation). Returns the manifest's
    ``compiled`` entry (or None) and a sentence for the operator."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        return None, f"no ONNX twin ({exc}); serving with PyTorch"
    path = folder / TWIN_FILE
    parity = export_checked(module, np.asarray(x, dtype=np.float64), path, classifier)
    diff = max(parity["sample"]["max_abs_diff"], parity["random"]["max_abs_diff"])
    if not parity["passed"]:
        path.unlink()
        return None, f"no ONNX twin: it differs from eager PyTorch by {diff:.3g} > {PARITY_TOLERANCE:g}; serving " \
                     "with PyTorch"
    compiled = {"format": "onnx", "file": TWIN_FILE, "sha256": sha256_file(path), "parity": parity,
                "scores": "logits" if classifier else None}
    compiled = {k: v for k, v in compiled.items() if v is not None}
    return compiled, (f"ONNX twin verified (largest difference {diff:.2g} over {parity['sample']['rows']} sample "
                      f"and {PARITY_RANDOM_ROWS} random rows): ONNX Runtime serves it, PyTorch is the fallback")


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
    cand = Candidate(framework="onnx", task=task, features=features, types={f: {"type": NUMBER} for f in features},
                     file="model.onnx", write_files=lambda folder: None, labels=labels,
                     output_names=None if task == "classification" else [f"output_{i}" for i in range(out.shape[1])],
                     scores="logits" if task == "classification" else None, sample=frame,
                     source={"kind": "torch.nn.Module", "class": type(module).__qualname__,
                             "libraries": {"torch": torch.__version__}})

    def write_files(folder: Path) -> None:
        parity = export_checked(module, x, folder / "model.onnx", task == "classification")
        diff = max(parity["sample"]["max_abs_diff"], parity["random"]["max_abs_diff"])
        if not parity["passed"]:
            raise SignatureError(f"the ONNX export differs from eager PyTorch by {diff:.3g} > {PARITY_TOLERANCE:g}; "
                                 "nothing was written")
        cand.source["parity"] = parity
        cand.notes.append(f"exported to ONNX; parity with eager PyTorch {diff:.2g} over {len(x)} sample and "
                          f"{PARITY_RANDOM_ROWS} random rows")

    cand.write_files = write_files
    return cand
