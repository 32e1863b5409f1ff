"""Prometheus metrics. Under Gunicorn, ``gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` before
any worker imports this module, so every worker writes its values there and ``/metrics``
aggregates them all (prometheus_client's multiprocess mode)."""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from inference import metrics_storage

# Before the first metric exists: each worker's values go to files that cannot crash it (SIGBUS
# on a full disk); see inference/metrics_storage.py.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    values.ValueClass = metrics_storage.value_class()

from inference.drift import WithDrift  # noqa: E402  (after the storage hook)

# Millisecond-scale inference: 0.25 ms .. 5 s.
LATENCY_BUCKETS = (0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075,
                   0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 10000)

REQUESTS = Counter("inference_requests_total", "HTTP requests answered.",
                   ["route", "method", "model", "version", "status"])
REQUEST_LATENCY = Histogram("inference_request_duration_seconds",
                            "Time from request to response, per route and model (empty for routes without one).",
                            ["route", "method", "model", "version"], buckets=LATENCY_BUCKETS)
INFERENCE_LATENCY = Histogram("inference_model_latency_seconds", "Model forward pass time (inside the model lock).",
                              ["model", "version"], buckets=LATENCY_BUCKETS)
BATCH_SIZE = Histogram("inference_batch_rows", "Rows per prediction request.", ["model", "version"],
                       buckets=BATCH_BUCKETS)
COALESCED = Histogram("inference_coalesced_requests", "Requests merged into one forward pass (merged passes only).",
                      ["model", "version"], buckets=(2, 3, 4, 6, 8, 12, 16, 24, 32, 64))
IN_FLIGHT = Gauge("inference_requests_in_flight", "Requests being handled now, over all workers.",
                  multiprocess_mode="livesum")
LOAD_FAILURES = Counter("inference_model_load_failures_total",
                        "Model versions a worker refused or failed to load (0 for each version that loaded).",
                        ["model", "version"])
# Drift and range: labels are bounded by the manifests (features, reference bins), never by values.
DRIFT_ROWS = Counter("inference_drift_rows", "Served rows per reference bin of each feature (for drift).",
                     ["model", "version", "feature", "bin"])
INPUT_WARNINGS = Counter("inference_input_warnings", "Served rows with a value outside the training range "
                         "(kind below_range / above_range) or an unseen category (unseen_category).",
                         ["model", "version", "feature", "kind"])
MODEL_INFO = Gauge("inference_model_info", "Loaded model versions (1 per model version a live worker serves).",
                   ["model", "version", "framework", "sha256"], multiprocess_mode="livemax")


class MetricsObserver:
    """Records what the serving core reports (``inference.core.served.Observer``).

    Label children are resolved once per model version (on load), not on every request."""

    def __init__(self):
        self._children = {}
        self._bins = {}  # model -> drift counter children, one per (feature, bin) slot of its monitor
        self._warnings = {}  # (model, feature, kind) -> counter child; bounded by the loaded versions

    def _for(self, model):
        children = self._children.get(model)
        if children is None:
            labels = (model.name, model.version_label)
            children = (INFERENCE_LATENCY.labels(*labels), COALESCED.labels(*labels), BATCH_SIZE.labels(*labels))
            self._children[model] = children
        return children

    def load_result(self, name, version, failed):
        """Count a failed load; a version that loaded gets its series at 0, so the dashboard has data."""
        child = LOAD_FAILURES.labels(name, version)
        if failed:
            child.inc()

    def loaded(self, model):
        """Publish a loaded model version."""
        m = model.manifest
        MODEL_INFO.labels(m.name, model.version_label, m.framework, m.sha256).set(1)
        self._for(model)
        if model.monitor is not None:
            self._bins[model] = [DRIFT_ROWS.labels(model.name, model.version_label, feature, bin_)
                                 for feature, bin_ in model.monitor.slots]

    def forward(self, model, seconds, rows):
        """One forward pass (inside the model lock)."""
        self._for(model)[0].observe(seconds)

    def merged(self, model, requests, rows):
        """A forward pass that served ``requests`` requests at once."""
        self._for(model)[1].observe(requests)

    def predicted(self, model, rows):
        """One prediction request of ``rows`` rows."""
        self._for(model)[2].observe(rows)

    def observed(self, model, slots, rows):
        """Served rows per (feature, bin) slot: one counter update per slot that received rows."""
        children = self._bins.get(model)
        if children is None:
            return
        for slot, n in zip(slots, rows, strict=True):
            children[slot].inc(n)

    def warned(self, model, tally):
        """Rows warned, per (feature, kind); each label child resolved once."""
        for (feature, kind), rows in tally.items():
            key = (model, feature, kind)
            child = self._warnings.get(key)
            if child is None:
                child = self._warnings[key] = INPUT_WARNINGS.labels(model.name, model.version_label, feature, kind)
            child.inc(rows)


OBSERVER = MetricsObserver()


class RequestMetrics:
    """The request counter and latency of one (route, method, model, version, status): label children
    resolved on first use and kept (every label comes from a bounded set), not on every request."""

    def __init__(self):
        self._children = {}

    def observe(self, route, method, model, version, status, seconds):
        """Count one answered request and its latency."""
        key = (route, method, model, version, status)
        children = self._children.get(key)
        if children is None:
            children = (REQUESTS.labels(route, method, model, version, str(status)),
                        REQUEST_LATENCY.labels(route, method, model, version))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


REQUEST_METRICS = RequestMetrics()


def exposition(models=()):
    """Return ``(body, content_type)``: every worker's metrics when in multiprocess mode, and the
    drift PSI of ``models`` (loaded versions) computed from them."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        source = multiprocess.MultiProcessCollector(None)
    else:
        source = REGISTRY
    registry = CollectorRegistry()
    registry.register(WithDrift(source, models))
    return generate_latest(registry), CONTENT_TYPE_LATEST
