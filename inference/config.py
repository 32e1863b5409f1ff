"""Configuration from environment variables, in one table: the app's settings (read by
``create_app``) and the server's (read by ``gunicorn.conf.py``). The README's configuration
table lists exactly these; a test keeps the two in step."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MiB = 1024 * 1024
# Measured on a 2-core machine (one-row requests at 32 connections, interleaved rounds, see
# docs/performance.md): one worker per core with 4 threads each served as much as 4 x 2 or 2 x 8
# and more than 3 x 4 or 1 x 8, with the least memory. At least 2 workers, so that one that dies
# or recycles never leaves the server without one.
MIN_WORKERS = 2
DEFAULT_THREADS = 4
APP = "app"
SERVER = "server"


def parse_bool(value: str) -> bool:
    """1/true/yes/on or 0/false/no/off, any case; anything else is an error."""
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def parse_list(value: str) -> list[str] | None:
    """A comma list; empty items dropped."""
    return [item.strip() for item in value.split(",") if item.strip()] or None


@dataclass(frozen=True)
class Setting:
    """One environment variable: its default, how its text is parsed, what it means, who reads it."""

    name: str
    default: Any
    parse: Callable[[str], Any]
    help: str
    scope: str = APP


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("MODEL_DIR", "artifacts", str, "model repository folder"),
    Setting("MODELS", None, parse_list, "comma list of models to load (default: every folder in MODEL_DIR)"),
    Setting("DEFAULT_MODEL", "iris-rf", str, "model served by POST /predict"),
    Setting("API_KEY", None, str, "when set, required as 'Authorization: Bearer <key>' or 'X-API-Key'"),
    Setting("MAX_CONTENT_LENGTH", 8 * MiB, int, "largest request body in bytes (413 above)"),
    Setting("MAX_BATCH_ROWS", 10_000, int, "most rows in one request (413 above)"),
    Setting("MAX_IMAGE_PIXELS", 4096 * 4096, int, "largest image (width x height) an image model accepts (413 above)"),
    Setting("ACCESS_LOG", True, parse_bool, "write one JSON line per request"),
    Setting("ACCESS_LOG_FLUSH_SECONDS", 1.0, float, "longest a request-log line waits in the worker's buffer "
            "(0: write each line at once); also written at 64 KiB and on a clean exit"),
    Setting("LOG_LEVEL", "INFO", lambda v: v.strip().upper(), "log level: DEBUG, INFO, WARNING, ERROR"),
    Setting("LOAD_IN_BACKGROUND", True, parse_bool, "load models in a background thread; /ready is 503 until done"),
    Setting("MODEL_LOAD_WAIT", 30.0, float, "seconds a request waits for models still loading before a 503"),
    Setting("COALESCE", True, parse_bool, "merge requests waiting for a model into one forward pass"),
    Setting("USE_COMPILED", True, parse_bool, "serve a model's verified compiled twin (ONNX) when it has one"),
    Setting("PUBLIC_DOCS", False, parse_bool, "serve /docs and /openapi.json without the API key"),
    Setting("CORS_ORIGINS", None, parse_list, "comma list of origins whose browser apps may call the API "
            "(default: none)"),
    Setting("WARNINGS", True, parse_bool, "answer with \"warnings\" for values outside the training range or unseen "
            "categories"),
    Setting("DRIFT", True, parse_bool, "count served rows into the training data's bins (GET /models/<name>/drift)"),
    Setting("AUDIT_LOG", None, str, "append one JSON line per prediction to this file (default: off)"),
    Setting("AUDIT_INPUTS", False, parse_bool, "also write the raw inputs into the audit log"),
    # Read by gunicorn.conf.py (the master), not by the app.
    Setting("WEB_CONCURRENCY", None, int, "Gunicorn worker processes (default: one per core, at least 2)", SERVER),
    Setting("GUNICORN_THREADS", None, int, "threads per worker (gthread; default 4)", SERVER),
    Setting("GUNICORN_WORKER_CLASS", "inference.worker.JsonThreadWorker", str,
            "Gunicorn worker class (gthread answering its own 400/414/431 in JSON)", SERVER),
    Setting("GUNICORN_WORKER_CONNECTIONS", 256, int, "client connections one worker holds at most", SERVER),
    Setting("GUNICORN_CLIENT_IDLE_TIMEOUT", 10.0, float, "seconds a client may stay silent in the middle of a "
            "request before it is dropped", SERVER),
    Setting("GUNICORN_LIMIT_REQUEST_LINE", 4094, int, "bytes of the request line (414 above)", SERVER),
    Setting("GUNICORN_LIMIT_REQUEST_FIELDS", 64, int, "header fields per request (431 above)", SERVER),
    Setting("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", 8190, int, "bytes of one header field (431 above)", SERVER),
    Setting("GUNICORN_BACKLOG", 2048, int, "connections the kernel queues before a worker accepts them", SERVER),
    Setting("GUNICORN_BIND", None, str, "listen address (default 127.0.0.1:$PORT)", SERVER),
    Setting("PORT", 8000, int, "port when GUNICORN_BIND is unset", SERVER),
    Setting("GUNICORN_TIMEOUT", 30, int, "seconds before a silent worker is killed and replaced", SERVER),
    Setting("GUNICORN_GRACEFUL_TIMEOUT", 30, int, "seconds in-flight requests get after SIGTERM or a reload", SERVER),
    Setting("GUNICORN_KEEPALIVE", 5, int, "seconds an idle client connection stays open", SERVER),
    Setting("GUNICORN_MAX_REQUESTS", 0, int, "recycle a worker after this many requests (0: never)", SERVER),
    Setting("GUNICORN_MAX_REQUESTS_JITTER", None, int, "random spread of that limit (default a tenth)", SERVER),
    Setting("GUNICORN_PRELOAD_LIBRARIES", True, parse_bool, "import the libraries in the master, shared by workers",
            SERVER),
    Setting("GUNICORN_CONTROL_SOCKET", None, str, "path of Gunicorn's control socket (default: off)", SERVER),
    Setting("TORCH_THREADS", None, int, "torch intra-op threads per worker (default: cores / workers)", SERVER),
    Setting("MODEL_SNAPSHOT", True, parse_bool, "workers load a verified snapshot of MODEL_DIR made at start and on "
            "each reload", SERVER),
    Setting("MODEL_SNAPSHOT_DIR", None, str, "where snapshots are made (default: the temporary folder)", SERVER),
    Setting("ORT_DISABLE_TELEMETRY", True, parse_bool, "ONNX Runtime's telemetry off (its thread breaks at fork)",
            SERVER),
    Setting("PROMETHEUS_MULTIPROC_DIR", None, str, "folder of the per-worker metrics files (default: a new "
            "temporary folder per start)", SERVER),
)}
POSITIVE = ("MAX_CONTENT_LENGTH", "MAX_BATCH_ROWS", "MAX_IMAGE_PIXELS", "WEB_CONCURRENCY", "GUNICORN_THREADS",
            "TORCH_THREADS", "PORT", "GUNICORN_WORKER_CONNECTIONS", "GUNICORN_BACKLOG")
# Durations: finite, within these bounds. The client idle timeout becomes the kernel's socket
# timeouts (a timeval: microseconds, and 0 means none), so it is bounded on both sides.
SECONDS_BETWEEN = {"GUNICORN_CLIENT_IDLE_TIMEOUT": (0.001, 86_400.0), "ACCESS_LOG_FLUSH_SECONDS": (0.0, math.inf)}


class ConfigError(ValueError):
    """An environment variable has a value that cannot be used."""


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def model_dir(environ: Mapping[str, str] | None = None) -> str:
    """The model repository the tools use by default: MODEL_DIR, else the setting's default."""
    return load(environ=environ)["MODEL_DIR"]


def cgroup_cpu_limit(root: str = "/sys/fs/cgroup") -> float | None:
    """The CPU quota of this process's cgroup in cores (cgroup v2 ``cpu.max``, or v1's CFS quota), or None."""
    try:
        with open(f"{root}/cpu.max") as fh:
            quota, period = fh.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open(f"{root}/cpu/cpu.cfs_quota_us") as q, open(f"{root}/cpu/cpu.cfs_period_us") as p:
            quota_us, period_us = int(q.read()), int(p.read())
        return quota_us / period_us if quota_us > 0 and period_us > 0 else None
    except (OSError, ValueError):
        return None


def cpu_cores(root: str = "/sys/fs/cgroup") -> int:
    """Cores this process may run on: its CPU affinity, capped by its cgroup's CPU quota (inside a
    container ``os.cpu_count()`` is the node's cores, not the container's share)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    limit = cgroup_cpu_limit(root)
    if limit:
        cores = min(cores, math.ceil(limit))
    return max(1, cores)


def torch_threads(config: Mapping[str, Any], workers: int, cores: int | None = None) -> int:
    """Intra-op torch threads per worker: TORCH_THREADS, else the cores shared out so that workers x
    threads does not exceed them (at least 1)."""
    if config.get("TORCH_THREADS"):
        return int(config["TORCH_THREADS"])
    return max(1, (cores or cpu_cores()) // max(1, workers))


def server_sizes(config: Mapping[str, Any], cores: int | None = None) -> tuple[int, int]:
    """``(workers, threads per worker)``: the settings when given, else one worker per core (at
    least ``MIN_WORKERS``) with ``DEFAULT_THREADS`` threads each."""
    workers = config.get("WEB_CONCURRENCY") or max(MIN_WORKERS, cores or cpu_cores())
    threads = config.get("GUNICORN_THREADS") or DEFAULT_THREADS
    return workers, threads


def defaults(scope: str = APP) -> dict[str, Any]:
    """Every setting of ``scope`` at its default."""
    return {s.name: s.default for s in SETTINGS.values() if s.scope == scope}


def from_env(environ: Mapping[str, str] | None = None, scope: str = APP) -> dict[str, Any]:
    """The settings of ``scope`` present in ``environ`` (default ``os.environ``), parsed."""
    environ = os.environ if environ is None else environ
    parsed = {}
    for s in SETTINGS.values():
        raw = environ.get(s.name)
        if s.scope != scope or raw is None or raw == "":
            continue
        try:
            parsed[s.name] = s.parse(raw)
        except ValueError:
            raise ConfigError(f"{s.name}={raw!r} is not valid: {s.help}") from None
    return parsed


def check(config: Mapping[str, Any]) -> None:
    """Raise ConfigError for values that parse but make no sense."""
    level = config.get("LOG_LEVEL")
    if level is not None and level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    for name in POSITIVE:
        value = config.get(name)
        if value is not None and int(value) < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    for name, (least, most) in SECONDS_BETWEEN.items():
        value = config.get(name)
        if value is not None and not (math.isfinite(value) and least <= value <= most):
            bounds = f"from {least:g} to {most:g}" if math.isfinite(most) else f"{least:g} or more"
            raise ConfigError(f"{name} must be a number of seconds {bounds}, got {value!r}")


def load(overrides: Mapping[str, Any] | None = None, scope: str = APP,
         environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then the environment, then ``overrides``; checked."""
    config = {**defaults(scope), **from_env(environ, scope), **(overrides or {})}
    check(config)
    return config
