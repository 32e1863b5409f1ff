import threading
import time

import numpy as np
import pytest

from inference.core.batching import Coalescer, Locked, runner_for


class GatedForward:
    """forward(x) = 10 * x; the first call waits until ``queued`` other callers are queued, so that
    the next pass must merge them. Raises for rows holding -1 (a request at fault)."""

    def __init__(self, coalescer_ref, queued):
        self.ref, self.queued, self.calls, self.first = coalescer_ref, queued, [], True

    def __call__(self, x):
        self.calls.append(len(x))
        if self.first:
            self.first = False
            deadline = time.monotonic() + 10
            while len(self.ref[0]._queue) < self.queued and time.monotonic() < deadline:
                time.sleep(0.001)
        if (x == -1).any():
            raise ValueError("row -1 is poison")
        return x * 10


def _run_concurrently(coalescer, inputs):
    results, errors = [None] * len(inputs), [None] * len(inputs)

    def call(i):
        try:
            results[i] = coalescer.run(inputs[i])
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            errors[i] = exc

    first = threading.Thread(target=call, args=(0,))
    first.start()
    time.sleep(0.05)  # the first caller now holds the model lock
    others = [threading.Thread(target=call, args=(i,)) for i in range(1, len(inputs))]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(10)
    return results, errors


def test_waiting_requests_share_one_pass_and_get_their_own_rows():
    ref, batches = [None], []
    forward = GatedForward(ref, queued=5)
    ref[0] = Coalescer(forward, max_rows=100, on_batch=lambda n, rows: batches.append((n, rows)))
    inputs = [np.full((k + 1, 2), float(k)) for k in range(6)]
    results, errors = _run_concurrently(ref[0], inputs)
    assert errors == [None] * 6
    for x, out in zip(inputs, results, strict=False):
        np.testing.assert_array_equal(out, x * 10)
    assert forward.calls[0] == 1  # the first caller ran alone
    assert batches == [(5, 2 + 3 + 4 + 5 + 6)]  # the other five shared one pass
    assert len(forward.calls) == 2


def test_a_failing_request_does_not_fail_the_others_in_its_batch():
    ref = [None]
    forward = GatedForward(ref, queued=4)
    ref[0] = Coalescer(forward, max_rows=100)
    inputs = [np.full((2, 2), float(k)) for k in range(5)]
    inputs[3] = np.array([[1.0, -1.0]])
    results, errors = _run_concurrently(ref[0], inputs)
    assert isinstance(errors[3], ValueError) and results[3] is None
    for i in (0, 1, 2, 4):
        assert errors[i] is None
        np.testing.assert_array_equal(results[i], inputs[i] * 10)


def test_row_cap_limits_a_merged_pass():
    ref = [None]
    forward = GatedForward(ref, queued=5)
    ref[0] = Coalescer(forward, max_rows=6)
    inputs = [np.ones((3, 1)) * k for k in range(6)]
    results, errors = _run_concurrently(ref[0], inputs)
    assert errors == [None] * 6
    assert max(forward.calls) <= 6 and sum(forward.calls) == 18


def test_a_lone_request_runs_at_once_and_alone():
    calls = []
    c = Coalescer(lambda x: calls.append(len(x)) or x, max_rows=8)
    started = time.perf_counter()
    out = c.run(np.ones((3, 2)))
    assert time.perf_counter() - started < 0.05
    assert calls == [3] and out.shape == (3, 2)


def test_hammered_from_many_threads_every_caller_gets_its_answer():
    merged = []
    c = Coalescer(lambda x: (time.sleep(0.001), x + 0.5)[1], max_rows=64,
                  on_batch=lambda n, rows: merged.append(n))
    failures = []

    def client(k):
        rng = np.random.default_rng(k)
        for _ in range(40):
            x = rng.normal(size=(int(rng.integers(1, 5)), 3))
            out = c.run(x)
            if out.shape != x.shape or not np.allclose(out, x + 0.5):
                failures.append(k)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failures == []
    assert merged and max(merged) > 1  # passes really were shared


def test_runner_for_and_locked():
    assert isinstance(runner_for(lambda x: x, coalesce=False), Locked)
    assert isinstance(runner_for(lambda x: x, coalesce=True), Coalescer)
    with pytest.raises(ZeroDivisionError):
        Locked(lambda x: 1 / 0).run(np.ones(1))
