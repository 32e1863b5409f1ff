"""Gunicorn settings. Used by ``make serve`` and ``gunicorn -c gunicorn.conf.py wsgi:app``; every
value has a default that serves safely on loopback. Each comes from an environment variable read
through ``inference.config`` (the one table of settings, which the README's configuration table
lists)."""

import logging
import os
import shutil
import signal
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
# only the forward pass, so parsing and serialising overlap with inference. The default is
# gthread with JSON answers (and an X-Request-ID) for the requests Gunicorn refuses itself
# (414, 431, 400): inference/worker.py. Plain "gthread" answers those in Gunicorn's HTML.
worker_class = _server["GUNICORN_WORKER_CLASS"]
# worker_connections: open client connections one worker holds at most (requests in progress
# plus idle keep-alive ones); past it the worker stops accepting and new connections wait in
# the listen backlog, or go to another worker.
worker_connections = _server["GUNICORN_WORKER_CONNECTIONS"]
# sendfile off: files (the API docs' assets) go out through the worker's socket like every other
# answer, under the client idle timeout; sendfile() writes to the descriptor past it, and a client
# that reads nothing would hold a thread for good.
sendfile = False

# --- Request limits -------------------------------------------------------------------------
# What a client may send before the app sees anything; Gunicorn refuses the rest itself.
# limit_request_line: bytes of "METHOD /path?query HTTP/1.1" (414 above; this API's longest path
# is under 100 bytes). limit_request_fields: header fields per request (431 above; browsers
# send 10-20). limit_request_field_size: bytes of one header field (431 above). backlog:
# connections the kernel queues before the workers accept them (capped by net.core.somaxconn);
# past it, new connections are refused, which a load balancer sees at once. The worker class
# also drops a client silent for GUNICORN_CLIENT_IDLE_TIMEOUT (10 s) in the middle of a request.
limit_request_line = _server["GUNICORN_LIMIT_REQUEST_LINE"]
limit_request_fields = _server["GUNICORN_LIMIT_REQUEST_FIELDS"]
limit_request_field_size = _server["GUNICORN_LIMIT_REQUEST_FIELD_SIZE"]
backlog = _server["GUNICORN_BACKLOG"]

# --- Timeouts -------------------------------------------------------------------------------
# timeout: a worker silent this long is killed and replaced (with gthread: its main loop, not
# one slow request, which runs in a thread beside it). graceful_timeout: how long
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
# file: keep the folder of this start. One folder per start, its .db files removed in
# on_starting. A folder the operator names is checked here, before the app is imported (which
# opens its first file): missing, it is created; a file, or not writable, the master stops
# with one line saying so.
def _metrics_folder():
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="inference-metrics-")
        os.environ["INFERENCE_OWNS_METRICS_DIR"] = "1"
        return
    from inference.metrics_storage import folder_problem  # (imports prometheus_client: after the variable is set)

    problem = folder_problem(path)
    if problem:
        raise SystemExit(f"error: PROMETHEUS_MULTIPROC_DIR={path!r} {problem}; "
                         "point it at a writable folder (or unset it for a fresh temporary one)")


_metrics_folder()

# --- ONNX Runtime telemetry -------------------------------------------------------------------
# ONNX Runtime (1.29 and later) starts a telemetry uploader thread when it is imported, and keeps a
# device id and an event database under ~/.cache/Microsoft. Imported in the master (below), that
# thread does not survive the fork: every worker exit (reload, recycle, shutdown) ended in
# "terminate called after throwing an instance of 'std::system_error'" and SIGABRT. Off by
# default, before anything imports onnxruntime; a hospital server has nothing to send out anyway.
# ORT_DISABLE_TELEMETRY=0 turns it back on, and then onnxruntime is not preloaded in the master.
_ort_fork_safe = _server["ORT_DISABLE_TELEMETRY"]
os.environ["ORT_DISABLE_TELEMETRY"] = "1" if _ort_fork_safe else "0"

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
        if not _ort_fork_safe:
            raise ImportError("onnxruntime is imported by each worker while its telemetry thread is on")
        import onnxruntime  # noqa: F401
    except ImportError:
        import sklearn.ensemble  # noqa: F401
    if not _app["USE_COMPILED"]:
        import sklearn.ensemble  # noqa: F401,F811

    gc.freeze()  # keep the collector from touching, and so copying, the shared objects

# --- Model snapshot -------------------------------------------------------------------------
# Workers load a verified snapshot of MODEL_DIR (inference/snapshot.py) that the master makes at
# start and on every reload: a reload after a weights file went missing or broken keeps serving
# the copy verified before, with an ERROR line, instead of dropping the model (503 from then on).
# Hard links where MODEL_SNAPSHOT_DIR (default: the temporary folder) shares MODEL_DIR's
# filesystem, copies otherwise. MODEL_SNAPSHOT=0 loads MODEL_DIR directly.
_SNAPSHOT = "INFERENCE_MODEL_SNAPSHOT"  # the current generation, for post_fork (the master's environment)


def _snapshot_on():
    return _server["MODEL_SNAPSHOT"]


def _snapshot_refresh(server):
    from inference.snapshot import refresh

    source = os.path.abspath(_settings.load(scope=_settings.APP)["MODEL_DIR"])  # re-read: a reload may change it
    root = os.environ.get("INFERENCE_SNAPSHOT_ROOT")
    if not root:
        root = tempfile.mkdtemp(prefix="inference-models-", dir=_server["MODEL_SNAPSHOT_DIR"])
        os.environ["INFERENCE_SNAPSHOT_ROOT"] = root
    try:
        os.environ[_SNAPSHOT] = str(refresh(source, root))
    except Exception:  # the workers then load the last snapshot that was made, or MODEL_DIR itself
        server.log.exception("model snapshot of %s failed; workers load %s", source,
                             os.environ.get(_SNAPSHOT, source))


# --- Hooks ----------------------------------------------------------------------------------


def on_starting(server):
    """Snapshot the models; start with no metrics files (stale ones would be summed in)."""
    if _snapshot_on():
        _snapshot_refresh(server)
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for entry in os.listdir(path):
        if entry.endswith(".db"):  # prometheus_client's files only: the folder may hold the operator's
            os.remove(os.path.join(path, entry))


def on_reload(server):
    """Snapshot the models again before the new workers start (HUP)."""
    if _snapshot_on():
        _snapshot_refresh(server)


def on_exit(server):
    """Remove the metrics folder and the model snapshots this master created."""
    if os.environ.get("INFERENCE_OWNS_METRICS_DIR") == "1":
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    if os.environ.get("INFERENCE_SNAPSHOT_ROOT"):
        shutil.rmtree(os.environ["INFERENCE_SNAPSHOT_ROOT"], ignore_errors=True)


def child_exit(server, worker):
    """Drop a dead worker's live gauges (in-flight, model info) from the aggregate, and its
    connection count from the ones the workers balance against."""
    from prometheus_client import multiprocess

    from inference import worker as json_worker

    try:
        json_worker.SHARES.release(worker.pid)  # first: the siblings must not wait on a dead worker
    finally:
        multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """A worker stopped while its models still load leaves at once, skipping the interpreter's
    teardown: that teardown would run C++ destructors under the loader thread (ONNX Runtime's
    thread pool, half-built), which ends in "terminate called without an active exception" and
    SIGABRT. Nothing is lost: the worker has served nothing yet, and its log lines are flushed."""
    plane = getattr(worker.wsgi, "extensions", {}).get("dataplane")
    if plane is None or not plane.registry.loading:
        return
    from inference import accesslog

    server.log.info("worker %s: stopped while loading its models, exiting without waiting for them", worker.pid)
    accesslog.flush_all()
    logging.shutdown()  # flushes every handler
    os._exit(0)


def _exit_while_booting(signum, frame):
    raise SystemExit(0)


def post_fork(server, worker):
    """Before the worker's app loads: exit on signals while booting, the snapshot, torch threads
    (when a model runs on torch)."""
    # Until Gunicorn installs the worker's own handlers, the master's are in place, and they
    # only wake the master: a SIGTERM sent while this worker boots (importing torch takes
    # seconds without preloading) was lost, and shutdown waited GUNICORN_GRACEFUL_TIMEOUT and
    # then SIGKILLed it. A booting worker has no request to finish, so it just exits (code 0).
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, _exit_while_booting)
    if os.environ.get(_SNAPSHOT):
        os.environ["MODEL_DIR"] = os.environ[_SNAPSHOT]  # this worker's app reads it in create_app
    if not _needs_torch:
        return
    import torch

    n = _settings.torch_threads(_server, server.cfg.workers)
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already ran in this process
        pass
    server.log.info("worker %s: torch intra-op threads %d, inter-op threads 1", worker.pid, n)
