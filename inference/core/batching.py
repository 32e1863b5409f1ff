"""Running a model's forward pass one caller at a time: a plain lock, or a lock that coalesces.

``Coalescer``: callers queue their rows, then wait for the model lock. Whoever takes the lock
runs every queued request (up to a row cap) in one forward pass and hands each caller its
slice; callers whose rows were served on the way find their result ready and return. There is
no timer: a lone request takes the free lock at once and runs alone, so it never waits for
company. Under load, the callers that would have queued for the lock anyway share one pass.

With ``merge=False`` (a model whose outputs for a row depend on the other rows of its forward
call; see ``inference.core.invariance``) the lock holder still runs every queued request, but
each in its own forward call: the answers equal those of requests run alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

DEFAULT_MAX_ROWS = 256
Forward = Callable[[Any], np.ndarray]


class Locked:
    """One forward pass at a time, each request on its own."""

    coalescing = False

    def __init__(self, forward: Forward):
        self._forward = forward
        self._lock = threading.Lock()

    def run(self, x: Any) -> np.ndarray:
        """Return ``forward(x)``, serialised with every other caller."""
        with self._lock:
            return self._forward(x)


class _Job:
    __slots__ = ("x", "result", "error", "done")

    def __init__(self, x: Any):
        self.x = x
        self.result: np.ndarray | None = None
        self.error: Exception | None = None
        self.done = False


class Coalescer:
    """Merge the requests waiting for the model lock into one forward pass."""

    coalescing = True

    def __init__(self, forward: Forward, max_rows: int = DEFAULT_MAX_ROWS,
                 on_batch: Callable[[int, int], None] | None = None,
                 concat: Callable[[list[Any]], Any] = np.concatenate, merge: bool = True):
        self._forward = forward
        self.merge = merge
        self._concat = concat  # joins the queued inputs (matrices, or DataFrames) into one batch
        self.max_rows = max_rows
        self.on_batch = on_batch  # called as on_batch(requests, rows) for each merged pass
        self._model_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Job] = []

    def run(self, x: Any) -> np.ndarray:
        """Return ``forward(x)``; the pass that computes it may also serve other callers."""
        if not self._queue and self._model_lock.acquire(blocking=False):
            # Nobody waiting and the model free: run alone at once (what queueing would do, minus
            # its bookkeeping). Callers that queue meanwhile wait for the lock as usual.
            try:
                return self._forward(x)
            finally:
                self._model_lock.release()
        job = _Job(x)
        with self._queue_lock:
            self._queue.append(job)
        while True:
            with self._model_lock:
                if job.done:  # a caller ahead of us ran our rows
                    break
                self._run_queued()
            if job.done:
                break
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def _take(self) -> list[_Job]:
        """Pop queued jobs in arrival order up to the row cap (always at least one)."""
        with self._queue_lock:
            taken: list[_Job] = []
            rows = 0
            while self._queue and (not taken or rows + len(self._queue[0].x) <= self.max_rows):
                job = self._queue.pop(0)
                taken.append(job)
                rows += len(job.x)
            return taken

    def _run_queued(self) -> None:
        jobs = self._take()
        if not jobs:
            return
        if len(jobs) == 1 or not self.merge:
            for job in jobs:
                self._run_alone(job)
            return
        try:
            out = self._forward(self._concat([job.x for job in jobs]))
        except Exception:
            # Something in the merged batch failed: run each request on its own, so that only
            # the request at fault gets the error.
            for job in jobs:
                self._run_alone(job)
            return
        if self.on_batch is not None:
            self.on_batch(len(jobs), len(out))
        start = 0
        for job in jobs:
            end = start + len(job.x)
            job.result = out[start:end]
            job.done = True
            start = end

    def _run_alone(self, job: _Job) -> None:
        try:
            job.result = self._forward(job.x)
        except Exception as exc:
            job.error = exc
        job.done = True


def runner_for(forward: Forward, coalesce: bool, max_rows: int = DEFAULT_MAX_ROWS,
               on_batch: Callable[[int, int], None] | None = None,
               concat: Callable[[list[Any]], Any] = np.concatenate, merge: bool = True) -> Locked | Coalescer:
    """A Coalescer when ``coalesce`` (merging requests into one pass only when ``merge``), else a plain lock."""
    return Coalescer(forward, max_rows, on_batch, concat, merge) if coalesce else Locked(forward)
