"""Same input, same answer: whether a row's outputs depend on the other rows computed with it.

Matrix libraries pick their kernels by the shape of the call: PyTorch's CPU matmul computes a
1-, 2- or 3-row batch with other kernels (another order of additions) than a batch of 4 or more,
so a row merged with others came back with different last digits than the same row alone. The
outputs of a row stay byte-identical when every forward call has a multiple of some number of
rows (the row block): the call is padded with copies of its last row, whose outputs are dropped.

At load, ``row_block`` finds the smallest block under which the version's probe rows (its golden
rows) give byte-identical outputs alone and at every position of merged batches of several sizes
up to the coalescing cap. A version for which no block works is never merged with other requests
(see ``inference.core.batching``): each request's rows then run in their own forward call.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

BLOCKS = (1, 4, 8, 16)  # tried in this order; 1 = no padding
MERGED_SIZES = (2, 3, 5, 8, 13, 32, 67)  # merged batches probed, plus the coalescing cap itself
PROBE_ROWS = 12  # probe rows used for a version (its golden rows, or seeded random rows)
PROBE_SEED = 7


def pad(x: Any, block: int) -> Any:
    """``x`` with copies of its last row appended up to a multiple of ``block`` rows."""
    missing = -len(x) % block
    if not missing:
        return x
    if hasattr(x, "iloc"):
        import pandas as pd

        return pd.concat([x, x.iloc[[len(x) - 1] * missing]], ignore_index=True)
    return np.concatenate([x, np.repeat(x[-1:], missing, axis=0)])


def take(x: Any, rows: list[int]) -> Any:
    """The rows ``rows`` of a matrix or DataFrame, in that order."""
    if hasattr(x, "iloc"):
        return x.iloc[rows].reset_index(drop=True)
    return x[rows]


def run(runtime: Any, x: Any, block: int) -> np.ndarray:
    """A runtime's served outputs for ``x`` computed in one forward call padded to ``block`` rows."""
    n = len(x)
    raw = runtime.forward(pad(runtime.preprocess(x), block))
    return runtime.postprocess(np.asarray(raw)[:n])


def invariant(runtime: Any, rows: Any, block: int, max_rows: int) -> bool:
    """True when every probe row's outputs are byte-identical alone and inside merged batches."""
    n = len(rows)
    alone = [run(runtime, take(rows, [i]), block)[0].tobytes() for i in range(n)]
    for size in sorted({s for s in MERGED_SIZES if s <= max_rows} | {max_rows}):
        for start in (0, n // 2 + 1):
            order = [(start + k) % n for k in range(size)]
            merged = run(runtime, take(rows, order), block)
            if any(merged[k].tobytes() != alone[i] for k, i in enumerate(order)):
                return False
    return True


def row_block(runtime: Any, rows: Any, max_rows: int) -> int | None:
    """The smallest block in BLOCKS under which the runtime is batch-invariant on ``rows`` (the
    model's input: a matrix or DataFrame), or None when none is (or the probe cannot run)."""
    if rows is None or not len(rows) or runtime.model is None:  # nothing to probe with, or not loaded
        return None
    try:
        for block in BLOCKS:
            if invariant(runtime, rows, block, max_rows):
                return block
    except Exception as exc:  # a model that fails on a probe row is simply not merged
        log.warning("%s: batch-invariance probe failed (%s: %s); requests will not be merged",
                    runtime.manifest.key, type(exc).__name__, exc,
                    extra={"event": "invariance_probe_failed", "model": runtime.manifest.key})
    return None


def probe_rows(runtime: Any) -> Any:
    """The rows a version is probed with: its golden rows in the model's input form or, for a
    numeric model without them, seeded random rows inside its reference range (else N(0, 1))."""
    from inference.core.golden import model_rows

    manifest = runtime.manifest
    golden = manifest.golden
    if golden:
        return model_rows(runtime, golden["inputs"][:PROBE_ROWS])
    if manifest.frame or not manifest.features:
        return None
    rng = np.random.default_rng(PROBE_SEED)
    stats = (manifest.reference or {}).get("features") or {}
    if all(f in stats for f in manifest.features):
        low = np.array([stats[f]["min"] for f in manifest.features])
        high = np.array([stats[f]["max"] for f in manifest.features])
        return rng.uniform(low, high, size=(PROBE_ROWS, len(low)))
    return rng.standard_normal((PROBE_ROWS, len(manifest.features)))
