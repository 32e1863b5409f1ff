"""Reference statistics (what a manifest stores about the training data) and the PSI."""

import json

import numpy as np
import pandas as pd
import pytest

from inference.core import reference
from inference.core.errors import ManifestError
from inference.core.manifest import read_manifest, write_manifest
from inference.train import training_rows


def test_numbers_get_decile_bins_min_and_max():
    x = np.arange(1000, dtype=float)
    stats = reference.numeric(x)
    assert stats["min"] == 0.0 and stats["max"] == 999.0
    assert stats["edges"] == np.quantile(x, reference.QUANTILES, method="lower").tolist()
    assert len(stats["proportions"]) == 10
    assert stats["proportions"] == pytest.approx([0.1] * 10, abs=0.002)


def test_discrete_feature_gets_fewer_bins_and_exact_shares():
    x = np.array([0] * 70 + [1] * 30, dtype=float)
    stats = reference.numeric(x)
    assert stats["edges"] == [0.0, 1.0]  # duplicates dropped
    assert stats["proportions"] == [0.0, 0.7, 0.3]  # below 0, [0, 1), 1 and above


def test_non_finite_values_are_left_out():
    stats = reference.numeric(np.array([1.0, np.nan, 2.0, np.inf, 3.0]))
    assert (stats["min"], stats["max"]) == (1.0, 3.0)
    assert reference.numeric(np.array([np.nan])) is None


def test_categories_with_other_bucket_and_truncation():
    stats = reference.categorical(np.array(["a", "b", "a", None, "c", "a"], dtype=object))
    assert stats["categories"] == ["a", "b", "c"]
    assert stats["proportions"] == pytest.approx([0.6, 0.2, 0.2, 0.0])
    many = np.array([f"c{i:03d}" for i in range(80)] + ["c000"] * 5, dtype=object)
    stats = reference.categorical(many)
    assert stats["truncated"] and len(stats["categories"]) == reference.MAX_CATEGORIES
    assert stats["categories"][0] == "c000"  # the most frequent first
    assert stats["proportions"][-1] == pytest.approx(30 / 85, abs=1e-6)  # the 30 dropped categories


def test_describe_takes_frames_matrices_and_named_rows_alike():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "s": ["x", "y", "x", "x"]})
    types = {"a": {"type": "number"}, "s": {"type": "string"}}
    from_frame = reference.describe(frame, ["a", "s"], types, "sample")
    from_rows = reference.describe(frame.to_dict(orient="records"), ["a", "s"], types, "sample")
    assert from_frame == from_rows
    assert from_frame["rows"] == 4 and from_frame["source"] == "sample"
    assert from_frame["features"]["s"]["kind"] == "category"
    matrix = reference.describe(np.array([[1.0, 5.0], [2.0, 6.0]]), ["a", "b"])
    assert matrix["features"]["b"]["max"] == 6.0
    assert reference.describe(None, ["a"]) is None


def test_psi_zero_for_the_reference_itself_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    train = rng.normal(0, 1, 5000)
    stats = reference.numeric(train)
    edges = np.array(stats["edges"])

    def counts(x):
        return np.bincount(reference.bin_index(x, edges), minlength=len(edges) + 1)

    assert reference.psi(stats["proportions"], counts(train)) == pytest.approx(0, abs=1e-6)
    same = reference.psi(stats["proportions"], counts(rng.normal(0, 1, 2000)))
    shifted = reference.psi(stats["proportions"], counts(rng.normal(1, 1, 2000)))
    assert same < 0.02 and shifted > 0.25
    assert reference.psi(stats["proportions"], np.zeros(len(edges) + 1)) is None


def test_psi_stays_finite_with_empty_bins():
    value = reference.psi([0.5, 0.5, 0.0], np.array([0, 10, 0]))
    assert np.isfinite(value) and value > 0.25


@pytest.mark.parametrize(("value", "text"), [(None, "no data"), (0.05, "stable"), (0.1, "moderate"),
                                             (0.25, "moderate"), (0.26, "major")])
def test_reading(value, text):
    assert reference.reading(value) == text


def test_bundled_models_store_their_training_data(model_dir):
    for name in ("iris-mlp", "iris-rf", "diabetes-risk"):
        m = read_manifest(model_dir / name / "1")
        train = training_rows(name)
        assert m.reference["source"] == "training data" and m.reference["rows"] == len(train)
        for i, feature in enumerate(m.features):
            stats = m.reference["features"][feature]
            assert (stats["min"], stats["max"]) == (train[:, i].min(), train[:, i].max())
            assert sum(stats["proportions"]) == pytest.approx(1, abs=1e-5)
    for name in ("linear", "digits-cnn"):  # no data set / an image model
        assert read_manifest(model_dir / name / "1").reference is None
    size = len(json.dumps(read_manifest(model_dir / "iris-mlp" / "1").reference))
    assert size < 3000  # the manifest stays small


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r["features"]["sepal_length"]["proportions"].pop(), "proportions needs"),
    (lambda r: r["features"].update(nope=r["features"]["sepal_length"]), "features the model does not have"),
    (lambda r: r["features"]["sepal_length"]["edges"].reverse(), "increasing"),
])
def test_manifest_refuses_inconsistent_reference(model_copy, change, message):
    folder = model_copy / "iris-mlp" / "1"
    raw = json.loads((folder / "model.json").read_text())
    change(raw["reference"])
    write_manifest(folder, raw)
    with pytest.raises(ManifestError, match=message):
        read_manifest(folder)
