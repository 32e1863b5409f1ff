import threading

import numpy as np
import pytest
import torch

from inference.core.manifest import read_manifest
from inference.core.runtimes import RUNTIMES, frameworks, runtime_for
from inference.core.runtimes.pytorch import PyTorchRuntime
from inference.core.runtimes.sklearn import SklearnRuntime
from inference.core.served import ServedModel


def _load(model_dir, name, use_compiled=True, **options):
    runtime = runtime_for(read_manifest(model_dir / name / "1"), use_compiled).load()
    return ServedModel(runtime, **options)


def test_linear_regression_values(model_dir):
    p = _load(model_dir, "linear", use_compiled=False)  # eager PyTorch (the reference), not the ONNX twin
    assert isinstance(p.runtime, PyTorchRuntime)
    out = p.predict(np.array([[1.0, 2.0, 3.0], [0.5, 0.2, 0.1]]))
    np.testing.assert_allclose(out, [[0.6], [0.08]], atol=1e-6)


def test_torch_model_is_in_eval_mode(model_dir):
    p = _load(model_dir, "iris-mlp", use_compiled=False)
    assert not p.runtime.model.training


@pytest.mark.parametrize("name", ["iris-mlp", "iris-rf", "diabetes-risk"])
def test_classifier_probabilities_sum_to_one(model_dir, name):
    p = _load(model_dir, name)
    rng = np.random.default_rng(0)
    probs = p.predict(rng.uniform(0, 100, size=(50, 4)))
    assert probs.shape == (50, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    assert (probs >= 0).all()


def test_sklearn_uses_predict_proba(model_dir):
    p = _load(model_dir, "iris-rf", use_compiled=False)
    assert isinstance(p.runtime, SklearnRuntime)
    x = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])
    np.testing.assert_allclose(p.predict(x), p.runtime.model.predict_proba(x))


def test_one_forward_pass_per_batch(model_dir, monkeypatch):
    p = _load(model_dir, "iris-mlp", use_compiled=False)
    calls = []
    original = p.runtime.model.forward
    monkeypatch.setattr(p.runtime.model, "forward", lambda x: calls.append(x.shape) or original(x))
    p.predict(np.ones((7, 4)))
    p.predict(np.ones((1, 4)))
    # a lone row is padded to the row block that makes the version batch-invariant (4 for a
    # float32 MLP on CPU PyTorch: 1- to 3-row calls take other kernels)
    assert p.row_rule.block == 4
    assert calls == [torch.Size([7, 4]), torch.Size([4, 4])]


def test_threads_get_their_own_answers(model_dir):
    """Many threads on one predictor: each sees the result for its own input."""
    p = _load(model_dir, "linear")
    errors = []

    def worker(k):
        for _ in range(50):
            x = np.full((3, 3), float(k))
            out = p.predict(x)
            if not np.allclose(out, 0.3 * k, atol=1e-4):
                errors.append((k, out))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_standardisation_is_applied_before_the_network(model_dir):
    p = _load(model_dir, "diabetes-risk", use_compiled=False)
    raw = np.array([[50.0, 30.0, 90.0, 100.0]])
    mean = np.array(p.manifest.preprocessing["standardize"]["mean"])
    scale = np.array(p.manifest.preprocessing["standardize"]["scale"])
    with torch.inference_mode():
        logits = p.runtime.model(torch.tensor((raw - mean) / scale, dtype=torch.float32))
    np.testing.assert_allclose(p.predict(raw), torch.softmax(logits.double(), 1).numpy(), atol=1e-6)


def test_frameworks_come_from_the_runtime_classes():
    assert frameworks() == ["onnx", "pytorch", "sklearn", "torchscript"]
    assert {cls.framework for cls in RUNTIMES.values()} == set(frameworks())


def test_non_finite_outputs_fail_only_their_own_caller(model_dir):
    """The finite check runs after a merged batch is split, so one caller's overflow is its own."""
    from inference.core.errors import OutOfRange

    p = _load(model_dir, "linear")
    with pytest.raises(OutOfRange):
        p.predict(np.array([[1e300, 0.0, 0.0]]))
    np.testing.assert_allclose(p.predict(np.array([[1.0, 2.0, 3.0]])), [[0.6]], atol=1e-6)


def test_postprocess_softmaxes_logits_and_renormalises_float32_probabilities(model_dir):
    from inference.core.runtimes.base import normalise, softmax

    np.testing.assert_allclose(softmax(np.array([[0.0, np.log(3.0)]])), [[0.25, 0.75]])
    votes = np.full((1, 3), 1 / 3, dtype=np.float32)
    assert normalise(votes).sum() == pytest.approx(1.0, abs=1e-6)  # the documented tolerance
    assert normalise(votes).dtype == np.float64
