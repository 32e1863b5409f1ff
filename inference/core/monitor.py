"""What the server watches in a model version's inputs, against the reference statistics in its
manifest: which bin each value falls in (drift) and which values lie outside the training range
or are categories the training data never held (warnings). Built once per loaded version; each
request costs a few vectorised numpy operations on its whole batch, or, for the small batches
that most requests are, a few bisections in plain Python (a numpy call costs about a microsecond
before it does anything: four of them would cost more than the prediction's whole bookkeeping)."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from typing import Any

import numpy as np

from inference.core.manifest import Manifest
from inference.core.reference import CATEGORY

BELOW, ABOVE, UNSEEN = "below_range", "above_range", "unseen_category"
MAX_LISTED_CATEGORIES = 20  # a warning lists at most this many known categories
SMALL = 4  # matrices of at most this many rows take the plain-Python path (same results)

Warnings = list[list[dict[str, Any]]]  # one list per row (empty when the row is within range)
Tally = dict[tuple[str, str], int]  # (feature, kind) -> rows warned


class InputMonitor:
    """Bins and ranges of one version's features. Drift counts are one flat array over every
    (feature, bin) slot, in the order of ``slots``."""

    def __init__(self, manifest: Manifest):
        ref = manifest.reference or {}
        stats = ref.get("features") or {}
        features = manifest.features or []
        self.reference_rows: int = ref.get("rows", 0)
        self._position = {f: i for i, f in enumerate(features)}
        self.slots: list[tuple[str, str]] = []  # (feature, bin label), the metric labels
        self.expected: dict[str, list[float]] = {}  # feature -> reference shares per bin
        numbers = [(i, f) for i, f in enumerate(features) if f in stats and stats[f]["kind"] != CATEGORY]
        self.categories = [(i, f, stats[f]) for i, f in enumerate(features)
                           if f in stats and stats[f]["kind"] == CATEGORY]
        self.number_positions = [i for i, _ in numbers]
        self.number_names = [f for _, f in numbers]
        widest = max((len(stats[f]["edges"]) for f in self.number_names), default=0)
        # Edges padded with +inf to one width, so that one broadcast comparison bins every feature.
        self.edges = np.full((len(numbers), widest), np.inf)
        self.mins = np.array([stats[f]["min"] for f in self.number_names], dtype=np.float64)
        self.maxs = np.array([stats[f]["max"] for f in self.number_names], dtype=np.float64)
        offsets = []
        for row, name in enumerate(self.number_names):
            edges = stats[name]["edges"]
            self.edges[row, :len(edges)] = edges
            offsets.append(len(self.slots))
            self._add_slots(name, stats[name]["proportions"])
        self.number_offsets = np.array(offsets, dtype=np.intp)
        # The plain-Python path: per numeric feature (edges, first slot, min, max), in matrix column order.
        self._all_numbers = self.number_positions == list(range(len(features))) and not self.categories
        self._python = [(stats[f]["edges"], offset, stats[f]["min"], stats[f]["max"])
                        for f, offset in zip(self.number_names, offsets, strict=True)]
        self.category_index = []
        for _, name, s in self.categories:
            self.category_index.append((len(self.slots), _index(s["categories"])))
            self._add_slots(name, s["proportions"])

    def _add_slots(self, name: str, proportions: list[float]) -> None:
        self.expected[name] = list(proportions)
        self.slots.extend((name, str(b)) for b in range(len(proportions)))

    @property
    def features(self) -> list[str]:
        """The features that have reference statistics."""
        return list(self.expected)

    def _numbers(self, x: Any) -> np.ndarray:
        if hasattr(x, "iloc"):
            return np.column_stack([x[f].to_numpy(dtype=np.float64) for f in self.number_names]) \
                if self.number_names else np.zeros((len(x), 0))
        return x[:, self.number_positions] if self.number_positions != list(range(x.shape[1])) else x

    def _codes(self, x: Any, position: int, name: str, index: Any) -> np.ndarray:
        values = x[name].to_numpy() if hasattr(x, "iloc") else x[:, position]
        return index.get_indexer(values.astype(str))

    def _small(self, x: Any) -> list[list[float]] | None:
        """The rows of a small all-numeric matrix as Python lists (None: take the numpy path)."""
        if self._all_numbers and len(x) <= SMALL and not hasattr(x, "iloc"):
            return x.tolist()
        return None

    def counts(self, x: Any) -> tuple[list[int], list[int]]:
        """``(slots, rows)``: the (feature, bin) slots that received rows of a batch (the model's
        matrix, or its DataFrame), as indices into ``slots``, and how many rows each received."""
        rows = self._small(x)
        if rows is not None:
            hit = [bisect_right(edges, value) + offset
                   for row in rows for value, (edges, offset, _, _) in zip(row, self._python, strict=True)]
            if len(rows) == 1:
                return hit, [1] * len(hit)
            tally = Counter(hit)
            return list(tally), list(tally.values())
        total = self.dense_counts(x)
        nonzero = total.nonzero()[0]
        return nonzero.tolist(), total[nonzero].tolist()

    def dense_counts(self, x: Any) -> np.ndarray:
        """Rows per (feature, bin) slot for a batch, every slot (vectorised)."""
        total = np.zeros(len(self.slots), dtype=np.int64)
        if self.number_names:
            values = self._numbers(x)
            # bin = number of edges <= value, for every feature at once
            bins = (values[:, :, None] >= self.edges[None, :, :]).sum(axis=2)
            total += np.bincount((bins + self.number_offsets).ravel(), minlength=len(self.slots))
        for (position, name, stats), (offset, index) in zip(self.categories, self.category_index, strict=True):
            codes = self._codes(x, position, name, index)
            codes[codes < 0] = len(stats["categories"])  # "other"
            total += np.bincount(codes + offset, minlength=len(self.slots))
        return total

    def warnings(self, x: Any) -> tuple[Warnings | None, Tally]:
        """Per row, the values outside the training range and the unseen categories; None when
        every row is within range. Also the count of rows warned per (feature, kind)."""
        per_row: Warnings | None = None
        tally: Tally = {}
        rows = self._small(x)
        if rows is not None and all(low <= value <= high for row in rows
                                    for value, (_, _, low, high) in zip(row, self._python, strict=True)):
            return None, tally
        if self.number_names:
            values = self._numbers(x)
            below, above = values < self.mins, values > self.maxs
            if below.any() or above.any():
                per_row = [[] for _ in range(len(values))]
                for kind, mask in ((BELOW, below), (ABOVE, above)):
                    for row, col in zip(*np.nonzero(mask), strict=True):
                        name = self.number_names[col]
                        per_row[row].append({"feature": name, "value": float(values[row, col]), "kind": kind,
                                             "range": [float(self.mins[col]), float(self.maxs[col])]})
                        tally[(name, kind)] = tally.get((name, kind), 0) + 1
        for (position, name, stats), (_, index) in zip(self.categories, self.category_index, strict=True):
            if stats.get("truncated"):
                continue  # rare training categories were not kept: "unseen" cannot be told apart
            codes = self._codes(x, position, name, index)
            unseen = np.nonzero(codes < 0)[0]
            if not len(unseen):
                continue
            if per_row is None:
                per_row = [[] for _ in range(len(codes))]
            raw = x[name].to_numpy() if hasattr(x, "iloc") else x[:, position]
            known = stats["categories"][:MAX_LISTED_CATEGORIES]
            for row in unseen.tolist():
                per_row[row].append({"feature": name, "value": str(raw[row]), "kind": UNSEEN, "categories": known})
            tally[(name, UNSEEN)] = len(unseen)
        if per_row is not None:
            for row_warnings in per_row:  # in feature order, whatever kind
                row_warnings.sort(key=self._order)
        return per_row, tally

    def _order(self, warning: dict[str, Any]) -> int:
        return self._position[warning["feature"]]


def _index(categories: list[str]) -> Any:
    import pandas as pd

    return pd.Index(categories)


def monitor_for(manifest: Manifest) -> InputMonitor | None:
    """The monitor of a version with reference statistics, else None."""
    return InputMonitor(manifest) if manifest.reference and manifest.features else None
