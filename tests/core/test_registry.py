import json
import logging
import pickle
import shutil

import pytest
import torch

from inference.core.errors import ModelNotFound, VersionNotFound
from inference.core.manifest import sha256_file
from inference.core.registry import ModelRegistry


class WritesAFileWhenUnpickled:
    """A malicious pickle: loading it creates ``path`` (open(path, "w"))."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _add_version(model_dir, name, version):
    src = model_dir / name / "1"
    dest = model_dir / name / str(version)
    shutil.copytree(src, dest)
    manifest = json.loads((dest / "model.json").read_text())
    manifest["version"] = version
    (dest / "model.json").write_text(json.dumps(manifest))
    return dest


def test_loads_every_model_and_version(model_copy):
    _add_version(model_copy, "linear", 2)
    registry = ModelRegistry(model_copy).load_all()
    assert registry.ready
    assert sorted(registry.models) == ["diabetes-risk", "digits-cnn", "iris-mlp", "iris-rf", "linear"]
    assert registry.versions("linear") == [1, 2]
    assert registry.get("linear").version == 2
    assert registry.get("linear", "latest").version == 2
    assert registry.get("linear", "1").version == 1
    assert registry.get("linear", 1).version == 1


def test_only_configured_models_are_loaded(model_dir):
    registry = ModelRegistry(model_dir, ["linear"]).load_all()
    assert list(registry.models) == ["linear"]
    with pytest.raises(ModelNotFound):
        registry.get("iris-rf")


@pytest.mark.parametrize("version", ["2", "0", "-1", "abc", "1.0"])
def test_unknown_versions(model_dir, version):
    registry = ModelRegistry(model_dir, ["linear"]).load_all()
    with pytest.raises(VersionNotFound):
        registry.get("linear", version)


def test_configured_but_absent_model_is_not_ready(model_dir):
    registry = ModelRegistry(model_dir, ["linear", "ghost"]).load_all()
    assert not registry.ready
    assert "ghost" in registry.failures


def test_tampered_joblib_is_refused_and_never_unpickled(model_copy, tmp_path, caplog):
    marker = tmp_path / "pwned"
    evil = pickle.dumps(WritesAFileWhenUnpickled(marker))
    (model_copy / "iris-rf" / "1" / "model.joblib").write_bytes(evil)

    with caplog.at_level(logging.ERROR, logger="inference"):
        registry = ModelRegistry(model_copy).load_all()

    assert not marker.exists(), "the altered weights file was deserialised"
    assert "iris-rf" not in registry.models
    assert "sha256 mismatch" in registry.failures["iris-rf/1"]
    assert any("sha256 mismatch" in r.getMessage() and "iris-rf/1" in r.getMessage() for r in caplog.records)
    assert not registry.ready
    assert registry.get("iris-mlp")  # the other models still serve

    # Control: the same bytes really do act when unpickled, so the check above can fail.
    pickle.loads(evil)
    assert marker.exists()


def test_torch_load_refuses_pickled_code_even_with_a_matching_hash(model_copy, tmp_path):
    marker = tmp_path / "pwned"
    version = model_copy / "linear" / "1"
    torch.save({"weight": WritesAFileWhenUnpickled(marker)}, version / "model.pt")
    manifest = json.loads((version / "model.json").read_text())
    manifest["sha256"] = sha256_file(version / "model.pt")
    (version / "model.json").write_text(json.dumps(manifest))

    # torch itself reads the weights: without the ONNX twin, which would serve instead
    registry = ModelRegistry(model_copy, ["linear"], use_compiled=False).load_all()

    assert not marker.exists()
    assert "linear" not in registry.models
    assert "linear/1" in registry.failures


def test_a_broken_version_does_not_hide_the_others(model_copy):
    broken = _add_version(model_copy, "linear", 2)
    (broken / "model.json").write_text("[]")
    registry = ModelRegistry(model_copy, ["linear"]).load_all()
    assert registry.versions("linear") == [1]
    assert "linear/2" in registry.failures


def test_background_loading_makes_get_wait_for_the_models(model_dir):
    registry = ModelRegistry(model_dir, ["linear"], load_wait=30).load_in_background()
    assert registry.get("linear").version == 1  # waited for the loader instead of failing
    assert registry.wait(5) and registry.ready


def test_a_request_that_outwaits_loading_gets_503(model_dir):
    from inference.core.errors import ModelUnavailable

    registry = ModelRegistry(model_dir, ["linear"], load_wait=0.01)  # never started: still loading
    with pytest.raises(ModelUnavailable) as exc:
        registry.get("linear")
    assert exc.value.status == 503 and exc.value.headers["Retry-After"]
    assert not registry.ready
