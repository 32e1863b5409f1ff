"""Drift of served inputs against each version's reference statistics, over every worker.

Each worker counts served rows into the reference bins (``inference_drift_rows_total``, one
Prometheus counter child per model, version, feature and bin); this module reads those counters
summed over all workers, the way ``/metrics`` does, and computes the population stability index
per feature: the drift report (``GET /models/<name>/drift``) and the ``inference_drift_psi``
gauge, computed at scrape time. Counts run from the server's start (a restart empties them).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from inference.core import reference
from inference.core.monitor import InputMonitor
from inference.core.served import ServedModel

FAMILY = "inference_drift_rows"  # inference_drift_rows_total, as prometheus_client names the family
Counts = dict[tuple[str, str], dict[tuple[str, str], float]]  # (model, version) -> (feature, bin) -> rows


def families() -> Iterable[Any]:
    """The counter families of every worker (multiprocess mode), or of this process."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        # Only the counter files: the drift counts are counters, and histograms are the costly part.
        return MultiProcessCollector.merge(glob.glob(os.path.join(folder, "counter_*.db")), accumulate=True)
    return REGISTRY.collect()


def summed(metric_families: Iterable[Any]) -> Counts:
    """The drift counters' values by model version, feature and bin."""
    counts: Counts = {}
    for family in metric_families:
        if family.name != FAMILY:
            continue
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue  # the _created samples of a single-process registry
            labels = sample.labels
            slot = (labels["feature"], labels["bin"])
            per_version = counts.setdefault((labels["model"], labels["version"]), {})
            per_version[slot] = per_version.get(slot, 0.0) + sample.value
    return counts


def feature_counts(monitor: InputMonitor, counts: Mapping[tuple[str, str], float]) -> dict[str, np.ndarray]:
    """Rows per bin of each feature, in bin order."""
    out = {}
    for name, expected in monitor.expected.items():
        out[name] = np.array([counts.get((name, str(b)), 0.0) for b in range(len(expected))])
    return out


def psi_by_feature(monitor: InputMonitor, counts: Mapping[tuple[str, str], float]) -> dict[str, float | None]:
    """PSI of each feature of one version (None before any row was served)."""
    return {name: reference.psi(monitor.expected[name], observed)
            for name, observed in feature_counts(monitor, counts).items()}


def report(model: ServedModel, counts: Counts) -> dict[str, Any]:
    """The drift report of one loaded version: PSI, reading and bin shares per feature."""
    body: dict[str, Any] = {"model": model.name, "version": model.version}
    monitor, ref = model.monitor, model.manifest.reference
    if monitor is None or ref is None:
        return {**body, "reference": None, "rows": None, "features": {}, "reading": "no reference",
                "note": "this version has no reference statistics (an image model, or published without data)"}
    observed = feature_counts(monitor, counts.get((model.name, model.version_label), {}))
    rows = int(max((c.sum() for c in observed.values()), default=0))
    features = {}
    for name, bins in observed.items():
        stats = ref["features"][name]
        value = reference.psi(monitor.expected[name], bins)
        features[name] = {
            "psi": None if value is None else round(value, 6),
            "reading": reference.reading(value),
            "reference": monitor.expected[name],
            "observed": reference.shares(bins) if rows else None,
            **({"edges": stats["edges"]} if "edges" in stats else {"categories": stats["categories"]}),
        }
    worst = max((f["psi"] for f in features.values() if f["psi"] is not None), default=None)
    bins = max((len(e) for e in monitor.expected.values()), default=1)
    return {**body, "reference": {"source": ref["source"], "rows": ref["rows"]}, "rows": rows,
            "max_psi": worst, "reading": reference.reading(worst),
            "thresholds": {"stable_below": reference.STABLE, "major_above": reference.MAJOR},
            "epsilon": reference.EPSILON,
            # what sampling alone gives on average: (bins - 1) / rows; a PSI near it is noise
            "noise_psi": round((bins - 1) / rows, 6) if rows else None,
            "features": features}


def psi_family(counts: Counts, models: Iterable[ServedModel]) -> GaugeMetricFamily:
    """``inference_drift_psi{model, version, feature}`` for every version that served rows."""
    gauge = GaugeMetricFamily("inference_drift_psi", "Population stability index of served inputs against the "
                              "training data, per feature (< 0.1 stable, 0.1-0.25 moderate, > 0.25 major).",
                              labels=["model", "version", "feature"])
    for model in models:
        if model.monitor is None:
            continue
        for name, value in psi_by_feature(model.monitor, counts.get((model.name, model.version_label), {})).items():
            if value is not None:
                gauge.add_metric([model.name, model.version_label, name], value)
    return gauge


class WithDrift:
    """A collector: the metrics of ``source`` plus the PSI gauge computed from them, read once per scrape."""

    def __init__(self, source: Any, models: Iterable[ServedModel]):
        self.source = source
        self.models = list(models)

    def collect(self) -> Iterable[Any]:
        collected = list(self.source.collect())
        yield from collected
        yield psi_family(summed(collected), self.models)
