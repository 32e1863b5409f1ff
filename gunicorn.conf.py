"""Gunicorn settings. Used by ``make serve`` and ``gunicorn -c gunicorn.conf.py wsgi:app``; every
value has a default that serves safely on loopback. Each comes from an environment variable read
through ``inference.config`` (the one table of settings, which the README's configuration table
lists)."""

import os
import shutil
import tempfile

from inference import config as _settings
from inference.core.registry import engines as _engines
from inference.logs import dict_config

# Gunicorn reads every module-level name that matches one of its settings ("config" is one), so
# helper names here start with an underscore.
_server = _settings.load(scope=_settings.SERVER)
_app = _settings.load(scope=_settings.APP)

# --- Socket ---------------------------------------------------------------------------------
# Loopback only by default; put a reverse proxy or load balancer in front to expose it.
bind = _server["GUNICORN_BIND"] or f"127.0.0.1:{_server['PORT']}"

# --- Workers --------------------------------------------------------------------------------
# WEB_CONCURRENCY: worker processes (each loads every configured model once); by default one per
# core (CPU affinity and cgroup quota), at least 2, with 4 threads each (inference.config.server_sizes).
workers, threads = _settings.server_sizes(_server)
# gthread: each worker serves GUNICORN_THREADS requests at once; the model lock serialises
# only the forward pass, so parsing and serialising overlap with inference.
worker_class = _server["GUNICORN_WORKER_CLASS"]

# --- Timeouts -------------------------------------------------------------------------------
# timeout: a worker silent this long is killed and replaced. graceful_timeout: how long
# in-flight requests get to finish after SIGTERM or a reload. keepalive: idle seconds a
# client connection is kept open (keep it above the load balancer's idle timeout).
timeout = _server["GUNICORN_TIMEOUT"]
graceful_timeout = _server["GUNICORN_GRACEFUL_TIMEOUT"]
keepalive = _server["GUNICORN_KEEPALIVE"]

# --- Recycling ------------------------------------------------------------------------------
# max_requests: restart a worker after this many requests (0 = never), with a random jitter
# so that workers do not all restart at once.
max_requests = _server["GUNICORN_MAX_REQUESTS"]
max_requests_jitter = _server["GUNICORN_MAX_REQUESTS_JITTER"]
if max_requests_jitter is None:
    max_requests_jitter = max_requests // 10

# --- Control socket -------------------------------------------------------------------------
# Gunicorn 27's runtime control socket defaults to one path per user, which two servers on a
# machine would share; off unless GUNICORN_CONTROL_SOCKET names a path for this instance.
if _server["GUNICORN_CONTROL_SOCKET"]:
    control_socket = _server["GUNICORN_CONTROL_SOCKET"]
control_socket_disable = not _server["GUNICORN_CONTROL_SOCKET"]

# --- Logging --------------------------------------------------------------------------------
# JSON lines for Gunicorn's own messages too; the app writes the request log (inference.access).
loglevel = _app["LOG_LEVEL"].lower()
logconfig_dict = dict_config(loglevel)
logger_class = "inference.logs.GunicornLogger"  # builds no access-log data for a log nobody reads

# --- Metrics --------------------------------------------------------------------------------
# prometheus_client multiprocess mode: every worker writes its samples under this folder and
# /metrics sums them. It must be in the environment before a worker imports prometheus_client,
# so it is set here, in the master, when the config is read. A reload (HUP) re-reads this
# file: keep the folder of this start. One folder per start, wiped in on_starting.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="inference-metrics-")
    os.environ["INFERENCE_OWNS_METRICS_DIR"] = "1"

# --- Preloading -----------------------------------------------------------------------------
# preload_app stays off: models load in each worker after the fork (PyTorch state created
# before a fork can hang workers, gunicorn issue 2478), and a HUP reload then picks up new
# model versions. The libraries, though, are imported here in the master when
# GUNICORN_PRELOAD_LIBRARIES is on, so their code and data pages are shared by every worker
# (copy-on-write) instead of each worker holding its own copy; importing torch starts no
# threads, and each worker sets its thread pools in post_fork.
# torch only when a configured model will run on it (decided from the manifests, nothing loaded):
# served by their ONNX twins, the bundled networks need no torch, which saves each worker its pages.
_needs_torch = "pytorch" in _engines(_app["MODEL_DIR"], _app["MODELS"], _app["USE_COMPILED"])
if _server["GUNICORN_PRELOAD_LIBRARIES"]:
    import gc

    if _needs_torch:
        import torch  # noqa: F401

    import app  # noqa: F401  (the code only: create_app runs in each worker)

    try:  # compiled forests run on ONNX Runtime; scikit-learn is then never imported
        import onnxruntime  # noqa: F401
    except ImportError:
        import sklearn.ensemble  # noqa: F401
    if not _app["USE_COMPILED"]:
        import sklearn.ensemble  # noqa: F401,F811

    gc.freeze()  # keep the collector from touching, and so copying, the shared objects

# --- Hooks ----------------------------------------------------------------------------------


def torch_threads(workers_count, cores=None):
    """Intra-op threads per worker so that workers x threads does not exceed the cores."""
    if _server["TORCH_THREADS"]:
        return _server["TORCH_THREADS"]
    cores = cores or _settings.cpu_cores()
    return max(1, cores // max(1, workers_count))


def on_starting(server):
    """Start with an empty metrics folder: stale files from an earlier run would be summed in."""
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for entry in os.listdir(path):
        os.remove(os.path.join(path, entry))


def on_exit(server):
    """Remove the metrics folder this master created."""
    if os.environ.get("INFERENCE_OWNS_METRICS_DIR") == "1":
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def child_exit(server, worker):
    """Drop a dead worker's live gauges (in-flight, model info) from the aggregate."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    """Give each worker its share of the cores before it loads any model (when one runs on torch)."""
    if not _needs_torch:
        return
    import torch

    n = torch_threads(server.cfg.workers)
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already ran in this process
        pass
    server.log.info("worker %s: torch intra-op threads %d, inter-op threads 1", worker.pid, n)
