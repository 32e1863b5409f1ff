"""Reference statistics of a version's training (or sample) data, stored in its manifest, and the
population stability index (PSI) that compares served inputs with them. Pure functions.

Numbers: bin edges at the deciles of the data (rounded to 6 significant digits, duplicates dropped,
so a discrete feature gets fewer bins), the share of rows in each bin, min and max. A value ``x``
falls in bin ``i`` = the number of edges <= ``x``: bin 0 lies below the first edge, the last bin
at or above the last, so values beyond the training range count in the end bins. Strings: the
share of each category, plus an "other" bucket (last) for categories the data did not hold.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

QUANTILES = tuple(i / 10 for i in range(1, 10))  # deciles: 10 bins at most
EDGE_DIGITS = 6  # significant digits of a stored edge (the manifest stays small and readable)
SHARE_DECIMALS = 6
MAX_CATEGORIES = 50  # the most frequent categories kept; rarer ones count as "other"
# An empty bin's share is taken as EPSILON in the PSI: ln(0) is undefined, and an empty bin on one
# side only is still a real difference, which EPSILON keeps finite (at most about 0.001 per bin
# for a share of 1e-4 against one of 0.1, so a few empty bins cannot by themselves make drift).
EPSILON = 1e-4
STABLE, MAJOR = 0.1, 0.25  # the usual reading: < 0.1 stable, 0.1 to 0.25 moderate, > 0.25 major
NUMBER, CATEGORY = "number", "category"


def columns(rows: Any, features: list[str]) -> dict[str, np.ndarray]:
    """Each feature's values from a DataFrame, a 2-D array or list of lists (in feature order),
    or a list of name -> value objects."""
    if hasattr(rows, "iloc"):
        return {name: rows[name].to_numpy() for name in features}
    if len(rows) and isinstance(rows[0], dict):
        return {name: np.asarray([row[name] for row in rows]) for name in features}
    matrix = np.asarray(rows)
    if matrix.ndim != 2 or matrix.shape[1] != len(features):
        raise ValueError(f"reference rows need {len(features)} values each, got shape {matrix.shape}")
    return {name: matrix[:, i] for i, name in enumerate(features)}


def _round(x: float) -> float:
    return float(f"{x:.{EDGE_DIGITS}g}")


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each value: the number of edges <= it."""
    return np.searchsorted(edges, values, side="right")


def numeric(values: np.ndarray) -> dict[str, Any] | None:
    """Edges, bin shares, min and max of the finite values (None when there are none)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if not len(x):
        return None
    # "lower": every edge is a value of the data, so a discrete feature gets no edges between its values
    edges = np.unique([_round(q) for q in np.quantile(x, QUANTILES, method="lower")])
    counts = np.bincount(bin_index(x, edges), minlength=len(edges) + 1)
    return {"kind": NUMBER, "min": float(x.min()), "max": float(x.max()), "edges": edges.tolist(),
            "proportions": shares(counts)}


def categorical(values: np.ndarray) -> dict[str, Any] | None:
    """The shares of the (at most MAX_CATEGORIES) most frequent categories, then "other"."""
    present = [str(v) for v in values if v is not None and v == v]  # v == v drops NaN
    if not present:
        return None
    ranked = sorted(Counter(present).items(), key=lambda kv: (-kv[1], kv[0]))
    kept = ranked[:MAX_CATEGORIES]
    other = sum(n for _, n in ranked[MAX_CATEGORIES:])
    return {"kind": CATEGORY, "categories": [c for c, _ in kept],
            "proportions": shares(np.array([n for _, n in kept] + [other])),
            "truncated": len(ranked) > MAX_CATEGORIES}


def shares(counts: np.ndarray) -> list[float]:
    """Counts as shares of their total, rounded to SHARE_DECIMALS."""
    counts = np.asarray(counts, dtype=np.float64)
    return np.round(counts / counts.sum(), SHARE_DECIMALS).tolist()


def describe(rows: Any, features: list[str], types: dict[str, dict[str, Any]] | None = None,
             source: str = "training data") -> dict[str, Any] | None:
    """The manifest's ``reference`` entry for ``rows`` (None when there are no rows). ``types``:
    the manifest's feature types; strings are categories, booleans count as 0 / 1."""
    if rows is None or not len(rows):
        return None
    by_name = columns(rows, features)
    described = {}
    for name in features:
        kind = ((types or {}).get(name) or {}).get("type", "number")
        if kind == "string":
            stats = categorical(by_name[name])
        else:
            stats = numeric(by_name[name].astype(np.float64))
        if stats is not None:
            described[name] = stats
    return {"source": source, "rows": int(len(rows)), "features": described} if described else None


def psi(expected: list[float] | np.ndarray, counts: np.ndarray) -> float | None:
    """The population stability index of observed bin ``counts`` against the reference shares
    ``expected``: sum of (observed - expected) * ln(observed / expected); None without rows."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return None
    observed = np.maximum(counts / total, EPSILON)
    reference = np.maximum(np.asarray(expected, dtype=np.float64), EPSILON)
    return float(np.sum((observed - reference) * np.log(observed / reference)))


def reading(value: float | None) -> str:
    """stable (< 0.1), moderate (0.1 to 0.25), major (> 0.25), or "no data"."""
    if value is None:
        return "no data"
    if value < STABLE:
        return "stable"
    return "moderate" if value <= MAJOR else "major"
