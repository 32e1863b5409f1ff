"""Configuration from environment variables (SPEC 5): defaults, parsing, checking."""

import os

MiB = 1024 * 1024

# name -> (default, parser, help). The README's configuration table mirrors this.
SETTINGS = {
    "MODEL_DIR": ("artifacts", str, "model repository folder"),
    "MODELS": (None, lambda v: [m.strip() for m in v.split(",") if m.strip()] or None,
               "comma list of models to load (default: every folder in MODEL_DIR)"),
    "DEFAULT_MODEL": ("iris-rf", str, "model served by POST /predict"),
    "API_KEY": (None, str, "when set, required as 'Authorization: Bearer <key>' or 'X-API-Key'"),
    "MAX_CONTENT_LENGTH": (8 * MiB, int, "largest request body in bytes (413 above)"),
    "MAX_BATCH_ROWS": (10_000, int, "most rows in one request (413 above)"),
    "MAX_IMAGE_PIXELS": (4096 * 4096, int, "largest image (width x height) an image model accepts (413 above)"),
    "ACCESS_LOG": (True, lambda v: _bool(v), "write one JSON line per request (costs ~30 us of CPU each)"),
    "LOG_LEVEL": ("INFO", lambda v: v.upper(), "log level: DEBUG, INFO, WARNING, ERROR"),
    "LOAD_IN_BACKGROUND": (True, lambda v: _bool(v), "load models in a background thread; /ready is 503 until done"),
    "MODEL_LOAD_WAIT": (30.0, float, "seconds a request waits for models still loading before a 503"),
    "COALESCE": (True, lambda v: _bool(v), "merge requests waiting for a model into one forward pass"),
    "USE_COMPILED": (True, lambda v: _bool(v), "serve a model's verified compiled twin (ONNX) when it has one"),
    "PUBLIC_DOCS": (False, lambda v: _bool(v), "serve /docs and /openapi.json without the API key"),
    "TORCH_THREADS": (None, int, "torch intra-op threads per worker (default: cores / workers)"),
    "CORS_ORIGINS": (None, lambda v: [o.strip() for o in v.split(",") if o.strip()] or None,
                     "comma list of origins whose browser apps may call the API (default: none)"),
}


def _bool(value):
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


class ConfigError(ValueError):
    """An environment variable has a value that cannot be used."""


def defaults():
    """Every setting at its default."""
    return {name: default for name, (default, _, _) in SETTINGS.items()}


def from_env(environ=None):
    """The settings present in ``environ`` (default ``os.environ``), parsed."""
    environ = os.environ if environ is None else environ
    parsed = {}
    for name, (_, parse, _) in SETTINGS.items():
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            parsed[name] = parse(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not valid: {SETTINGS[name][2]}") from None
    return parsed


def check(config):
    """Raise ConfigError for values that parse but make no sense."""
    for name in ("MAX_CONTENT_LENGTH", "MAX_BATCH_ROWS"):
        if int(config[name]) < 1:
            raise ConfigError(f"{name} must be a positive integer, got {config[name]!r}")
    if config.get("TORCH_THREADS") is not None and int(config["TORCH_THREADS"]) < 1:
        raise ConfigError(f"TORCH_THREADS must be at least 1, got {config['TORCH_THREADS']!r}")
