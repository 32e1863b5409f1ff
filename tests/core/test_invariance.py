"""Same input, same answer: one row alone and inside many different merged batches gives the same
bytes, for every bundled model, an ONNX export and a forest's ONNX twin."""

import numpy as np
import pandas as pd
import pytest
import torch

from inference.core import invariance
from inference.core.batching import Coalescer, _Job
from inference.core.invariance import RowRule
from inference.core.manifest import read_manifest
from inference.core.runtimes import runtime_for
from inference.core.served import ServedModel
from inference.export import export


def _served(folder, use_compiled=True):
    return ServedModel(runtime_for(read_manifest(folder), use_compiled).load())


def _merged_pass(served, parts):
    """Queue ``parts`` (one request each) and let one caller run them: a deterministic merged pass."""
    runner = served.runner
    jobs = [_Job(served.runtime.preprocess(p)) for p in parts]
    runner._queue.extend(jobs)
    runner._run_queued()
    assert all(job.done and job.error is None for job in jobs)
    return [served.runtime.postprocess(job.result) for job in jobs]


def _rows(served, n, seed):
    """``n`` random rows inside the version's training range (or its golden rows' range)."""
    golden = np.asarray(served.manifest.golden["inputs"], dtype=np.float64)
    low, high = golden.min(axis=0), golden.max(axis=0)
    return np.random.default_rng(seed).uniform(low, high, size=(n, golden.shape[1])).round(2)


def _assert_same_alone_and_merged(served, trials=25):
    the_row = _rows(served, 1, seed=99)
    alone = served.predict(the_row).tobytes()
    rng = np.random.default_rng(0)
    for trial in range(trials):
        others = [_rows(served, int(rng.integers(1, 9)), seed=trial * 31 + k) for k in range(int(rng.integers(1, 12)))]
        position = int(rng.integers(0, len(others) + 1))
        parts = others[:position] + [the_row] + others[position:]
        merged = _merged_pass(served, parts)
        assert merged[position].tobytes() == alone, f"trial {trial}: {len(parts)} requests, position {position}"
        # the same row inside a bigger request of its own, at a random place
        batch = np.vstack([_rows(served, 6, seed=trial), the_row, _rows(served, 3, seed=trial + 1)])
        assert served.predict(batch)[6].tobytes() == alone


@pytest.mark.parametrize(("name", "compiled"), [("iris-mlp", True), ("diabetes-risk", True), ("linear", True),
                                                ("digits-cnn", True), ("iris-rf", True), ("iris-rf", False)])
def test_one_row_alone_and_in_merged_batches_gives_the_same_bytes(model_dir, name, compiled):
    served = _served(model_dir / name / "1", compiled)
    assert served.row_rule is not None and served.runner.merge
    _assert_same_alone_and_merged(served)


def test_onnx_export_is_batch_invariant_too(model_copy):
    folder = export(model_copy, "iris-mlp", "onnx")
    served = _served(folder)
    assert served.runtime.engine == "onnxruntime"
    _assert_same_alone_and_merged(served)


def test_without_the_row_rule_pytorch_answers_depend_on_the_batch(model_dir):
    """The failure this guards against: a float32 MLP computes a lone row with other kernels."""
    runtime = runtime_for(read_manifest(model_dir / "iris-mlp" / "1"), use_compiled=False).load()  # eager PyTorch
    rows = runtime.preprocess(_rows(ServedModel(runtime), 64, seed=1))
    alone = np.vstack([runtime.forward(rows[i:i + 1]) for i in range(len(rows))])
    merged = runtime.forward(rows)
    assert (alone != merged).any()  # different last digits somewhere: the original report
    rule = invariance.row_rule(runtime, rows, 256)
    assert rule == RowRule(4)
    padded = np.vstack([runtime.forward(invariance.pad(rows[i:i + 1], rule))[:1] for i in range(len(rows))])
    assert padded.tobytes() == merged.tobytes()


def test_pad_matrices_and_frames():
    x = np.arange(6.0).reshape(3, 2)
    assert invariance.pad(x, RowRule(4)).tolist() == [[0, 1], [2, 3], [4, 5], [4, 5]]
    assert invariance.pad(x, RowRule(2)) is x  # at least 2: nothing to add
    assert len(invariance.pad(x, RowRule(2, multiple=True))) == 4
    assert invariance.pad(x, None) is x
    frame = pd.DataFrame({"a": [1.0], "s": ["x"]})
    padded = invariance.pad(frame, RowRule(4))
    assert len(padded) == 4 and padded["s"].tolist() == ["x"] * 4


class BatchMean:
    """A model whose outputs depend on the batch (it subtracts the batch mean): no rule helps."""

    def __init__(self, manifest):
        self.manifest = manifest
        self.model = "loaded"
        self.calls = []

    def preprocess(self, x):
        return x

    def forward(self, x):
        self.calls.append(len(x))
        return x - x.mean(axis=0)

    def postprocess(self, raw):
        return np.asarray(raw)


def test_a_model_no_rule_makes_invariant_is_never_merged(model_dir):
    runtime = BatchMean(read_manifest(model_dir / "linear" / "1"))
    rows = np.random.default_rng(0).normal(size=(8, 3))
    assert invariance.row_rule(runtime, rows, 256) is None
    forward_calls = []

    def forward(x):
        forward_calls.append(len(x))
        return runtime.forward(x)

    coalescer = Coalescer(forward, merge=False)
    jobs = [_Job(rows[i:i + 2]) for i in range(0, 8, 2)]
    coalescer._queue.extend(jobs)
    coalescer._run_queued()
    assert forward_calls == [2, 2, 2, 2]  # one forward call per request, all run by one caller
    for i, job in enumerate(jobs):
        assert job.result.tobytes() == runtime.forward(rows[2 * i:2 * i + 2]).tobytes()


def test_threads_set_for_serving_keep_the_rule(model_dir):
    """Two intra-op threads (a worker's share on a bigger machine) keep a row's bytes."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        served = _served(model_dir / "diabetes-risk" / "1")
        _assert_same_alone_and_merged(served, trials=10)
    finally:
        torch.set_num_threads(threads)


class Slow(BatchMean):
    """Row-wise, but each call takes a while."""

    def forward(self, x):
        import time

        time.sleep(0.05)
        return x * 2


def test_a_model_too_slow_to_probe_is_not_merged_and_the_probe_stops_early(model_dir):
    import time

    runtime = Slow(read_manifest(model_dir / "linear" / "1"))
    rows = np.random.default_rng(0).normal(size=(8, 3))
    started = time.monotonic()
    assert invariance.row_rule(runtime, rows, 256, budget=0.5) is None
    assert time.monotonic() - started < 0.5  # one call told it the whole probe would not fit
    assert invariance.row_rule(runtime, rows, 256, budget=60) == RowRule(1)
