"""The input monitor: bins (drift) and ranges (warnings) of served rows, on both of its paths."""

import numpy as np
import pandas as pd
import pytest

from inference.core import reference
from inference.core.manifest import Manifest, read_manifest
from inference.core.monitor import ABOVE, BELOW, SMALL, UNSEEN, InputMonitor, monitor_for


def _manifest(frame, types=None):
    features = list(frame.columns)
    types = types or {f: {"type": "number"} for f in features}
    return Manifest(name="m", version=1, framework="sklearn", task="regression", file="f", sha256="0" * 64,
                    inputs={"features": features, "types": types}, outputs={"names": ["y"]},
                    reference=reference.describe(frame, features, types))


def _expected_counts(monitor, manifest, x):
    """Rows per slot computed the slow way, feature by feature with np.searchsorted."""
    out = np.zeros(len(monitor.slots), dtype=int)
    for i, feature in enumerate(manifest.features):
        stats = manifest.reference["features"][feature]
        first = monitor.slots.index((feature, "0"))
        for b in reference.bin_index(x[:, i], np.array(stats["edges"])):
            out[first + b] += 1
    return out


@pytest.mark.parametrize("rows", [1, 2, SMALL, SMALL + 1, 500])
def test_counts_match_binning_feature_by_feature(rows):
    rng = np.random.default_rng(rows)
    train = pd.DataFrame({"a": rng.normal(0, 1, 300), "b": rng.integers(0, 5, 300).astype(float)})
    manifest = _manifest(train)
    monitor = InputMonitor(manifest)
    # values on the edges themselves, beyond the range, and in between
    edges = np.array(manifest.reference["features"]["a"]["edges"])
    x = np.column_stack([rng.choice(np.r_[edges, -9.0, 9.0, rng.normal(0, 1, 20)], rows),
                         rng.integers(-1, 7, rows).astype(float)])
    slots, counts = monitor.counts(x)
    dense = np.zeros(len(monitor.slots), dtype=int)
    dense[slots] = counts
    assert dense.tolist() == _expected_counts(monitor, manifest, x).tolist()
    assert dense.sum() == 2 * rows and min(counts) > 0  # every row once per feature; only slots with rows
    assert monitor.dense_counts(x).tolist() == dense.tolist()  # both paths agree


def test_warnings_name_feature_value_and_range_per_row():
    train = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [10.0, 20.0, 30.0]})
    monitor = InputMonitor(_manifest(train))
    for x in (np.array([[1.0, 20.0]]), np.array([[0.0, 30.0]] * 6)):  # small and vectorised paths
        assert monitor.warnings(x) == (None, {})  # within range, the bounds included
    x = np.array([[-1.0, 20.0], [1.0, 20.0], [3.0, 31.0]])
    per_row, tally = monitor.warnings(x)
    assert per_row == [[{"feature": "a", "value": -1.0, "kind": BELOW, "range": [0.0, 2.0]}], [],
                       [{"feature": "a", "value": 3.0, "kind": ABOVE, "range": [0.0, 2.0]},
                        {"feature": "b", "value": 31.0, "kind": ABOVE, "range": [10.0, 30.0]}]]
    assert tally == {("a", BELOW): 1, ("a", ABOVE): 1, ("b", ABOVE): 1}


def test_unseen_categories_in_a_frame():
    train = pd.DataFrame({"age": [30.0, 40.0, 50.0], "smoker": ["yes", "no", "no"]})
    types = {"age": {"type": "number"}, "smoker": {"type": "string"}}
    monitor = InputMonitor(_manifest(train, types))
    x = pd.DataFrame({"age": [35.0, 45.0], "smoker": pd.Series(["former", "no"], dtype=object)})
    per_row, tally = monitor.warnings(x)
    assert per_row == [[{"feature": "smoker", "value": "former", "kind": UNSEEN, "categories": ["no", "yes"]}], []]
    assert tally == {("smoker", UNSEEN): 1}
    slots, counts = monitor.counts(x)
    by_slot = {monitor.slots[s]: n for s, n in zip(slots, counts, strict=True)}
    assert by_slot[("smoker", "2")] == 1  # "other", after the categories "no" and "yes"
    assert by_slot[("smoker", "0")] == 1


def test_no_unseen_warning_when_rare_categories_were_not_kept():
    train = pd.DataFrame({"c": [f"k{i}" for i in range(reference.MAX_CATEGORIES + 5)]})
    monitor = InputMonitor(_manifest(train, {"c": {"type": "string"}}))
    assert monitor.warnings(pd.DataFrame({"c": ["never-seen"]})) == (None, {})


def test_versions_without_reference_have_no_monitor(model_dir):
    assert monitor_for(read_manifest(model_dir / "linear" / "1")) is None
    assert monitor_for(read_manifest(model_dir / "digits-cnn" / "1")) is None
    assert monitor_for(read_manifest(model_dir / "iris-mlp" / "1")) is not None
