"""A loaded runtime as the server runs it: behind its runner (a lock, or a lock that coalesces
waiting requests), with every forward call padded to the version's row rule so that a row's
outputs never depend on what else was computed with it (``inference.core.invariance``), its
inputs watched against the training data (``inference.core.monitor``), and watched by an
observer (the metrics). The runtime knows none of this."""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np

from inference.core import invariance
from inference.core.batching import DEFAULT_MAX_ROWS, runner_for
from inference.core.manifest import Manifest
from inference.core.monitor import InputMonitor, Tally, monitor_for
from inference.core.runtimes import Runtime


class Observer(Protocol):
    """What the serving core reports; ``inference.metrics`` implements it."""

    def loaded(self, model: ServedModel) -> None: ...

    def load_result(self, name: str, version: str, failed: bool) -> None: ...

    def forward(self, model: ServedModel, seconds: float, rows: int) -> None: ...

    def merged(self, model: ServedModel, requests: int, rows: int) -> None: ...

    def predicted(self, model: ServedModel, rows: int) -> None: ...

    def observed(self, model: ServedModel, slots: list[int], rows: list[int]) -> None: ...

    def warned(self, model: ServedModel, tally: Tally) -> None: ...


class NullObserver:
    """Reports nowhere (tools and tests that run models outside the server)."""

    def loaded(self, model: ServedModel) -> None:
        pass

    def load_result(self, name: str, version: str, failed: bool) -> None:
        pass

    def forward(self, model: ServedModel, seconds: float, rows: int) -> None:
        pass

    def merged(self, model: ServedModel, requests: int, rows: int) -> None:
        pass

    def predicted(self, model: ServedModel, rows: int) -> None:
        pass

    def observed(self, model: ServedModel, slots: list[int], rows: list[int]) -> None:
        pass

    def warned(self, model: ServedModel, tally: Tally) -> None:
        pass


class ServedModel:
    """One loaded model version: ``predict(matrix)`` is safe to call from many threads at once."""

    def __init__(self, runtime: Runtime, coalesce: bool = True, observer: Observer | None = None):
        """``coalesce`` is the server's default; the manifest's ``serving`` section may override it."""
        self.runtime = runtime
        self.manifest: Manifest = runtime.manifest
        self.observer: Observer = observer or NullObserver()
        serving = self.manifest.serving or {}
        max_rows = serving.get("max_batch_rows", DEFAULT_MAX_ROWS)
        # None: no row rule makes this version batch-invariant, so requests are never merged.
        self.row_rule = invariance.row_rule(runtime, invariance.probe_rows(runtime), max_rows)
        self.runner = runner_for(self._forward, serving.get("coalesce", coalesce), max_rows, on_batch=self._merged,
                                 concat=runtime.concat, merge=self.row_rule is not None)
        self.monitor: InputMonitor | None = monitor_for(self.manifest)
        # Resolved once: these go into every answer's headers, logs and metric labels.
        self.name = self.manifest.name
        self.version = self.manifest.version
        self.version_label = str(self.version)

    @property
    def is_classifier(self) -> bool:
        return self.runtime.is_classifier

    @property
    def labels(self) -> list[str] | None:
        return self.manifest.labels

    def predict(self, rows: Any) -> np.ndarray:
        """Probabilities or values for a float64 matrix of raw feature values (or a DataFrame, for
        models with string features); only the model call is serialised."""
        return self.runtime.postprocess(self.runner.run(self.runtime.preprocess(rows)))

    def _forward(self, x: Any) -> np.ndarray:
        started = time.perf_counter()
        n = len(x)
        out = self.runtime.forward(invariance.pad(x, self.row_rule))[:n]
        self.observer.forward(self, time.perf_counter() - started, n)
        return out

    def _merged(self, requests: int, rows: int) -> None:
        self.observer.merged(self, requests, rows)
