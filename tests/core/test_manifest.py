import json

import pytest

from inference.core.errors import IntegrityError, ManifestError
from inference.core.manifest import read_manifest, sha256_file, version_dirs


def _manifest(path):
    return json.loads((path / "model.json").read_text())


def _rewrite(path, **changes):
    data = _manifest(path)
    data.update(changes)
    (path / "model.json").write_text(json.dumps(data))


def test_bundled_manifest_reads_and_verifies(model_dir):
    m = read_manifest(model_dir / "iris-mlp" / "1")
    assert (m.name, m.version, m.framework, m.task) == ("iris-mlp", 1, "pytorch", "classification")
    assert m.labels == ["setosa", "versicolor", "virginica"]
    assert m.architecture["name"] == "SimpleNN"
    m.verify()
    assert m.sha256 == sha256_file(m.weights_path)


def test_altered_weights_fail_verification(model_copy):
    path = model_copy / "linear" / "1"
    with open(path / "model.pt", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(IntegrityError, match="sha256 mismatch"):
        read_manifest(path).verify()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"file": "../iris-rf/1/model.joblib"}, "file"),
        ({"file": "/etc/passwd"}, "file"),
        ({"version": 2}, "says version 2"),
        ({"version": "1"}, "version"),
        ({"name": "other"}, "says name other"),
        ({"framework": "tensorflow"}, "framework"),
        ({"task": "ranking"}, "task"),
        ({"sha256": "abc"}, "sha256"),
        ({"outputs": {}}, "classifiers need outputs.labels"),
        ({"architecture": None}, "architecture"),
    ],
)
def test_invalid_manifests_are_refused(model_copy, changes, message):
    path = model_copy / "iris-mlp" / "1"
    _rewrite(path, **changes)
    with pytest.raises(ManifestError, match=message):
        read_manifest(path)


def test_missing_and_garbled_manifest(model_copy):
    path = model_copy / "linear" / "1"
    (path / "model.json").write_text("{not json")
    with pytest.raises(ManifestError, match="not readable JSON"):
        read_manifest(path)
    (path / "model.json").unlink()
    with pytest.raises(ManifestError, match="missing"):
        read_manifest(path)


def test_version_dirs_ignore_non_integer_folders(model_copy):
    root = model_copy / "linear"
    (root / "0").mkdir()
    (root / "draft").mkdir()
    (root / ".tmp-2-123").mkdir()
    (root / "10").mkdir()
    assert sorted(version_dirs(model_copy, "linear")) == [1, 10]
