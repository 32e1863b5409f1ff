"""Per-request observation: one JSON access-log line and the Prometheus request metrics, and
the ``/metrics`` route."""

import logging
import time

from flask import Blueprint, Response, current_app, g, request

from inference import accesslog, metrics
from inference.api.plane import get_registry

bp = Blueprint("monitoring", __name__)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
UNMATCHED = "<unmatched>"
MAX_LOGGED_PATH = 256


@bp.get("/metrics")
def scrape():
    """Prometheus text format, aggregated over all Gunicorn workers, with the drift PSI gauge."""
    body, content_type = metrics.exposition(get_registry().all_versions())
    return Response(body, content_type=content_type)


def start_timer():
    """Note when the request started and count it in flight."""
    ctx = g._get_current_object()
    ctx.started = time.perf_counter()
    metrics.IN_FLIGHT.inc()
    ctx.in_flight = True


def method_label(method):
    """The method as a metric label: a known HTTP method, else "other" (clients may invent methods)."""
    return method if method in METHODS else "other"


def observe(response):
    """Log the request and count it; bodies are never logged.

    Every label comes from a bounded set, whether or not the request was authenticated: the
    method from METHODS or "other", the route from the URL rules (or UNMATCHED), the model only
    when one was resolved (a loaded model version).
    """
    ctx = g._get_current_object()  # one context lookup for the several reads below
    started = ctx.get("started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    req = request._get_current_object()
    rule = req.url_rule
    route = rule.rule if rule is not None else UNMATCHED
    method = method_label(req.method)
    model = ctx.get("model")
    name, version = (model.name, model.version_label) if model is not None else ("", "")
    status = response.status_code
    metrics.REQUEST_METRICS.observe(route, method, name, version, status, seconds)
    writer = current_app.extensions["access_log"]
    if writer is not None:
        writer.write({
            "request_id": ctx.get("request_id"),
            "method": method,
            "path": req.path[:MAX_LOGGED_PATH],
            "route": route,
            "model": name or None,
            "version": model.version if model is not None else None,
            "status": status,
            "latency_ms": round(seconds * 1000, 3),
            "rows": ctx.get("rows"),
        })
    return response


def end_in_flight(exc=None):
    """The request is no longer in flight, however it ended."""
    if g.pop("in_flight", False):
        metrics.IN_FLIGHT.dec()


def access_log_for(config):
    """The access-log writer the app's settings ask for, or None (ACCESS_LOG off, or a level above INFO)."""
    if not config["ACCESS_LOG"] or logging.getLevelNamesMapping().get(config["LOG_LEVEL"], 0) > logging.INFO:
        return None
    return accesslog.shared(config["ACCESS_LOG_FLUSH_SECONDS"])


def init_app(app):
    """Time, count and log every request; serve /metrics."""
    app.extensions["access_log"] = access_log_for(app.config)
    app.before_request(start_timer)
    app.after_request(observe)
    app.teardown_request(end_in_flight)
    app.register_blueprint(bp)
