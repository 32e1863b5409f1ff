"""Per-request observation: one JSON access-log line and the Prometheus request metrics, and
the ``/metrics`` route."""

import logging
import time

from flask import Blueprint, Response, current_app, g, request

from inference import metrics

bp = Blueprint("monitoring", __name__)
access_log = logging.getLogger("inference.access")


@bp.get("/metrics")
def scrape():
    """Prometheus text format, aggregated over all Gunicorn workers."""
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


def start_timer():
    g.started = time.perf_counter()
    metrics.IN_FLIGHT.inc()
    g.in_flight = True


def observe(response):
    """Log the request and count it; bodies are never logged."""
    started = g.get("started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    model = response.headers.get("X-Model-Name", "")
    version = response.headers.get("X-Model-Version", "")
    rows = g.get("rows")
    metrics.REQUESTS.labels(route, request.method, model, version, str(response.status_code)).inc()
    metrics.REQUEST_LATENCY.labels(route, request.method).observe(seconds)
    if rows is not None:
        metrics.BATCH_SIZE.labels(model, version).observe(rows)
    if current_app.config["ACCESS_LOG"] and access_log.isEnabledFor(logging.INFO):
        access_log.info("request", extra={"access": {
            "request_id": g.get("request_id"),
            "method": request.method,
            "path": request.path,
            "route": route,
            "model": model or None,
            "version": int(version) if version else None,
            "status": response.status_code,
            "latency_ms": round(seconds * 1000, 3),
            "rows": rows,
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
