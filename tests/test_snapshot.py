"""The model snapshot the master makes for the workers: what is verified, kept, passed on, dropped."""

import shutil

from inference.snapshot import build, problem, refresh


def test_a_fresh_snapshot_copies_every_verified_version(model_copy, tmp_path):
    report = build(model_copy, None, tmp_path / "1")
    assert set(report.values()) == {"verified"} and "linear/1" in report
    copied, original = tmp_path / "1" / "linear" / "1" / "model.pt", model_copy / "linear" / "1" / "model.pt"
    assert copied.read_bytes() == original.read_bytes()
    assert copied.stat().st_ino != original.stat().st_ino  # a copy: editing MODEL_DIR in place cannot reach it
    original.write_bytes(b"rewritten in place")
    assert problem(tmp_path / "1" / "linear" / "1") is None


def test_broken_versions_keep_the_previous_copy_unchanged_ones_are_shared(model_copy, tmp_path):
    build(model_copy, None, tmp_path / "1")
    (model_copy / "linear" / "1" / "model.pt").unlink()
    (model_copy / "iris-mlp" / "1" / "model.pt").write_bytes(b"half a copy")
    shutil.rmtree(model_copy / "diabetes-risk")
    report = build(model_copy, tmp_path / "1", tmp_path / "2")
    assert report["linear/1"] == report["iris-mlp/1"] == "kept"
    assert report["iris-rf/1"] == "verified" and "diabetes-risk/1" not in report  # retired: dropped
    assert problem(tmp_path / "2" / "linear" / "1") is None and problem(tmp_path / "2" / "iris-mlp" / "1") is None
    same = [(tmp_path / g / "iris-rf" / "1" / "model.onnx").stat().st_ino for g in ("1", "2")]
    assert same[0] == same[1]  # unchanged: linked from the previous generation, not copied again


def test_a_version_that_never_verified_is_passed_on_for_the_workers_to_refuse(model_copy, tmp_path):
    (model_copy / "linear" / "1" / "model.pt").write_bytes(b"tampered")
    report = build(model_copy, None, tmp_path / "1")
    assert report["linear/1"] == "unverified"
    assert "sha256 mismatch" in problem(tmp_path / "1" / "linear" / "1")


def test_refresh_keeps_the_last_two_generations(model_copy, tmp_path):
    root = tmp_path / "snapshots"
    root.mkdir()
    paths = [refresh(model_copy, root) for _ in range(3)]
    assert [p.name for p in paths] == ["1", "2", "3"]
    assert sorted(p.name for p in root.iterdir()) == ["2", "3"]
