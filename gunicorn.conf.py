"""Gunicorn settings, read from the environment (SPEC 5). Used by ``make serve`` and
``gunicorn -c gunicorn.conf.py wsgi:app``; every value has a default that serves safely on
loopback. The README's configuration table lists them all."""

import os


def _int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


# --- Socket ---------------------------------------------------------------------------------
# Loopback only by default; put a reverse proxy or load balancer in front to expose it.
bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{_int('PORT', 8000)}"

# --- Workers --------------------------------------------------------------------------------
# WEB_CONCURRENCY: worker processes (each loads every configured model once).
workers = _int("WEB_CONCURRENCY", 4)
# gthread: each worker serves GUNICORN_THREADS requests at once; the model lock serialises
# only the forward pass, so parsing and serialising overlap with inference.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = _int("GUNICORN_THREADS", 2)

# --- Timeouts -------------------------------------------------------------------------------
# timeout: a worker silent this long is killed and replaced. graceful_timeout: how long
# in-flight requests get to finish after SIGTERM or a reload. keepalive: idle seconds a
# client connection is kept open (keep it above the load balancer's idle timeout).
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# --- Recycling ------------------------------------------------------------------------------
# max_requests: restart a worker after this many requests (0 = never), with a random jitter
# so that workers do not all restart at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", max_requests // 10)

# --- Control socket -------------------------------------------------------------------------
# Gunicorn 27's runtime control socket defaults to one path per user, which two servers on a
# machine would share; off unless GUNICORN_CONTROL_SOCKET names a path for this instance.
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
if _control_socket:
    control_socket = _control_socket
control_socket_disable = not _control_socket

# --- Logging --------------------------------------------------------------------------------
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
accesslog = None  # the app writes its own request log
errorlog = "-"

# --- Hooks ----------------------------------------------------------------------------------


def torch_threads(workers_count, cores=None):
    """Intra-op threads per worker so that workers x threads does not exceed the cores."""
    explicit = os.environ.get("TORCH_THREADS", "").strip()
    if explicit:
        return int(explicit)
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, workers_count))


def post_fork(server, worker):
    """Give each worker its share of the cores before it loads any model."""
    import torch

    n = torch_threads(server.cfg.workers)
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already ran in this process
        pass
    server.log.info("worker %s: torch intra-op threads %d, inter-op threads 1", worker.pid, n)
