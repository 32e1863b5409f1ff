"""``save_model(model, name, sample)``: a fitted scikit-learn estimator or a ``torch.nn.Module``,
from a notebook or a training script, becomes the next version of ``name``, served like any other."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from inference import config
from inference.core.manifest import Manifest, read_manifest


def _frame(sample: Any, features: list[str] | None) -> Any:
    import pandas as pd

    if isinstance(sample, pd.DataFrame):
        if features and list(sample.columns) != list(features):
            sample = sample[list(features)]
        return sample
    array = np.asarray(sample)
    if array.ndim != 2:
        raise ValueError("sample must be a DataFrame or a 2-D array of rows")
    names = features or [f"x{i}" for i in range(array.shape[1])]
    if len(names) != array.shape[1]:
        raise ValueError(f"features names {len(names)} columns, the sample has {array.shape[1]}")
    return pd.DataFrame(array, columns=names)


def save_model(model: Any, name: str, sample: Any, model_dir: str | os.PathLike[str] | None = None,
               labels: list[str] | None = None, task: str | None = None,
               features: list[str] | None = None) -> Manifest:
    """Write ``model`` as the next version of ``name`` in ``model_dir`` (default: MODEL_DIR, else
    ``artifacts``) and return its manifest.

    ``sample``: a DataFrame (feature names from its columns) or a 2-D array (names from
    ``features``), a few rows of real inputs: they fix the signature, check the saved form against
    the model, and become the version's golden outputs. A PyTorch module is exported to ONNX with
    a parity check against eager PyTorch (a classifier's outputs are logits: give ``labels``)."""
    frame = _frame(sample, features)
    model_dir = model_dir if model_dir is not None else config.model_dir()
    if _is_torch_module(model):
        from inference.importing import torch as torch_import

        cand = torch_import.candidate(model, frame, labels=labels, task=task)
    else:
        cand = _sklearn_candidate(model, frame, labels, task)
    folder = cand.publish(model_dir, name)
    for note in cand.notes:
        print(f"{name}: {note}")
    return read_manifest(folder)


def _is_torch_module(model: Any) -> bool:
    try:
        import torch
    except ImportError:
        return False
    return isinstance(model, torch.nn.Module)


def _sklearn_candidate(model: Any, frame: Any, labels: list[str] | None, task: str | None) -> Any:
    """Saved with skops, trusting the types it needs: the caller built the estimator."""
    import skops.io

    from inference.importing import sklearn as sk

    described = sk.describe(model, sample=frame, features=None if sk.fitted_features(model) else list(frame.columns),
                            labels=labels, task=task)
    data = skops.io.dumps(model)
    trusted = sorted(skops.io.get_untrusted_types(data=data))

    def write_weights(folder: Path) -> None:
        (folder / "model.skops").write_bytes(data)

    return sk.candidate(model, described, file="model.skops", serialization="skops", write_weights=write_weights,
                        source={"kind": "save_model", "class": type(model).__qualname__,
                                "libraries": sk.library_versions()}, trusted_types=trusted)
