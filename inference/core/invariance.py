"""Same input, same answer: whether a row's outputs depend on the other rows computed with it.

Matrix libraries pick their kernels by the shape of the call: PyTorch's CPU matmul computes a
1-, 2- or 3-row batch with other kernels (another order of additions) than a batch of 4 or more,
so a row merged with others came back with different last digits than the same row alone. The
outputs of a row stay byte-identical when every forward call has at least (or a multiple of) some
number of rows, the row block: a call with fewer rows is padded with copies of its last row,
whose outputs are dropped. The padding costs only calls smaller than the block (a lone request).

At load, ``row_rule`` finds the first rule in RULES under which the version's probe rows (its
golden rows) give byte-identical outputs alone and at every position of merged batches of several
sizes up to the coalescing cap. A version for which no rule works is never merged with other
requests (see ``inference.core.batching``): each request's rows then run in their own forward call.
The probe has a time budget: a model too slow to probe in it is not merged either.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class RowRule:
    """Rows per forward call: at least ``block``, or (``multiple``) a multiple of ``block``."""

    block: int
    multiple: bool = False

    def rows(self, n: int) -> int:
        """The rows a call of ``n`` rows is padded to."""
        return -(-n // self.block) * self.block if self.multiple else max(n, self.block)


# Tried in this order, cheapest first; RowRule(1) pads nothing.
RULES = (RowRule(1), RowRule(4), RowRule(4, True), RowRule(8), RowRule(8, True), RowRule(16, True))
MERGED_SIZES = (2, 3, 5, 8, 13, 32, 67)  # merged batches probed, plus the coalescing cap itself
PROBE_ROWS = 12  # probe rows used for a version (its golden rows, or seeded random rows)
PROBE_SEED = 7
BUDGET_S = 20.0  # most seconds a version's probe may take at load (estimated from its first call)


def pad(x: Any, rule: RowRule | None) -> Any:
    """``x`` with copies of its last row appended up to the rows ``rule`` asks for."""
    missing = rule.rows(len(x)) - len(x) if rule is not None else 0
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


class OverBudget(Exception):
    """The probe would take longer than its budget."""


def run(runtime: Any, x: Any, rule: RowRule, deadline: float = float("inf")) -> np.ndarray:
    """A runtime's served outputs for ``x`` computed in one forward call padded by ``rule``."""
    if time.monotonic() > deadline:
        raise OverBudget
    n = len(x)
    raw = runtime.forward(pad(runtime.preprocess(x), rule))
    return runtime.postprocess(np.asarray(raw)[:n])


def invariant(runtime: Any, rows: Any, rule: RowRule, max_rows: int, deadline: float = float("inf")) -> bool:
    """True when every probe row's outputs are byte-identical alone and inside merged batches."""
    n = len(rows)
    started = time.monotonic()
    alone = [run(runtime, take(rows, [0]), rule, deadline)[0].tobytes()]
    calls = n + 2 * (len(MERGED_SIZES) + 1)
    if started + calls * (time.monotonic() - started) > deadline:  # a slow model: do not even start
        raise OverBudget
    alone += [run(runtime, take(rows, [i]), rule, deadline)[0].tobytes() for i in range(1, n)]
    for size in sorted({s for s in MERGED_SIZES if s <= max_rows} | {max_rows}):
        for start in (0, n // 2 + 1):
            order = [(start + k) % n for k in range(size)]
            merged = run(runtime, take(rows, order), rule, deadline)
            if any(merged[k].tobytes() != alone[i] for k, i in enumerate(order)):
                return False
    return True


def row_rule(runtime: Any, rows: Any, max_rows: int, budget: float = BUDGET_S) -> RowRule | None:
    """The first rule in RULES under which the runtime is batch-invariant on ``rows`` (the
    model's input: a matrix or DataFrame), or None when none is (or the probe cannot run in
    ``budget`` seconds)."""
    if rows is None or not len(rows) or runtime.model is None:  # nothing to probe with, or not loaded
        return None
    deadline = time.monotonic() + budget
    try:
        for rule in RULES:
            if invariant(runtime, rows, rule, max_rows, deadline):
                return rule
    except OverBudget:
        log.warning("%s: too slow to probe for batch invariance in %g s; requests will not be merged",
                    runtime.manifest.key, budget, extra={"event": "invariance_probe_skipped",
                                                         "model": runtime.manifest.key})
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
