"""Per-request observation: one JSON access-log line and the Prometheus request metrics, and
the ``/metrics`` route."""

import logging
import time

from flask import Blueprint, Response, current_app, g, request

from inference import metrics
from inference.api.plane import get_registry

bp = Blueprint("monitoring", __name__)
access_log = logging.getLogger("inference.access")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
UNMATCHED = "<unmatched>"
MAX_LOGGED_PATH = 256


@bp.get("/metrics")
def scrape():
    """Prometheus text format, aggregated over all Gunicorn workers, with the drift PSI gauge."""
    body, content_type = metrics.exposition(get_registry().all_versions())
    return Response(body, content_type=content_type)


def start_timer():
    g.started = time.perf_counter()
    metrics.IN_FLIGHT.inc()
    g.in_flight = True


def method_label(method):
    """The method as a metric label: a known HTTP method, else "other" (clients may invent methods)."""
    return method if method in METHODS else "other"


def observe(response):
    """Log the request and count it; bodies are never logged.

    Every label comes from a bounded set, whether or not the request was authenticated: the
    method from METHODS or "other", the route from the URL rules (or UNMATCHED), the model only
    when one was resolved (a loaded model version).
    """
    started = g.get("started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    method = method_label(request.method)
    model = g.get("model")
    name, version = (model.name, model.version_label) if model is not None else ("", "")
    metrics.REQUESTS.labels(route, method, name, version, str(response.status_code)).inc()
    metrics.REQUEST_LATENCY.labels(route, method, name, version).observe(seconds)
    if current_app.config["ACCESS_LOG"] and access_log.isEnabledFor(logging.INFO):
        access_log.info("request", extra={"access": {
            "request_id": g.get("request_id"),
            "method": method,
            "path": request.path[:MAX_LOGGED_PATH],
            "route": route,
            "model": name or None,
            "version": model.version if model is not None else None,
            "status": response.status_code,
            "latency_ms": round(seconds * 1000, 3),
            "rows": g.get("rows"),
        }})
    return response


def end_in_flight(exc=None):
    if g.pop("in_flight", False):
        metrics.IN_FLIGHT.dec()


def init_app(app):
    app.before_request(start_timer)
    app.after_request(observe)
    app.teardown_request(end_in_flight)
    app.register_blueprint(bp)
