"""The model registry: discovers ``MODEL_DIR``, loads every version of the configured models
once per process (in the foreground or a background thread), and resolves
``(name, version | "latest")`` to a loaded predictor."""

import logging
import threading
from pathlib import Path

from inference.core import manifest as manifests
from inference.core.errors import IntegrityError, ModelNotFound, ModelUnavailable, VersionNotFound
from inference.core.predictors import predictor_for

log = logging.getLogger(__name__)
LATEST = "latest"


def parse_version(version):
    """Return a positive int, or LATEST for None / "latest"; None when it is neither."""
    if version is None or version == LATEST:
        return LATEST
    if isinstance(version, int):
        return version if version > 0 else None
    text = str(version)
    return int(text) if text.isdigit() and int(text) > 0 else None


class ModelRegistry:
    """Loaded predictors by name and version, plus what failed to load and why.

    ``on_load(predictor)`` runs after each successful load; ``predictor_options`` go to every
    predictor (see ``Predictor``: observer, coalesce, on_batch, use_compiled). While a background
    load runs, ``get`` waits up to ``load_wait`` seconds for it, so that a worker that has just
    started (after a reload, say) holds requests for a moment instead of failing them.
    """

    def __init__(self, model_dir, names=None, on_load=None, load_wait=30.0, **predictor_options):
        self.model_dir = Path(model_dir)
        self.requested = list(names) if names else None
        self.models = {}  # name -> {version: Predictor}; each inner dict is complete when published
        self.failures = {}  # "name" or "name/version" -> reason
        self.skipped = {}  # "name/version" -> why its runtime is missing (not a failure)
        self.loaded = False
        self.load_wait = load_wait
        self._done = threading.Event()
        self.on_load = on_load
        self.predictor_options = predictor_options
        self._thread = None

    @property
    def configured(self):
        """The model names this registry is meant to serve."""
        return self.requested if self.requested is not None else manifests.model_names(self.model_dir)

    def load_all(self):
        """Load every version of every configured model; record failures instead of raising."""
        for name in self.configured:
            versions = manifests.version_dirs(self.model_dir, name)
            if not versions:
                self._fail(name, f"no version folders under {self.model_dir / name}")
                continue
            loaded = {}
            for version, path in sorted(versions.items()):
                predictor = self._load_one(name, version, path)
                if predictor is not None:
                    loaded[version] = predictor
            if loaded:
                self.models[name] = loaded  # one assignment: readers never see a half-filled dict
        self.loaded = True
        self._done.set()
        return self

    def load_in_background(self):
        """Start ``load_all`` in a daemon thread, so that the worker answers probes meanwhile."""
        self._thread = threading.Thread(target=self.load_all, name="model-loader", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout=None):
        """Wait for loading to finish; True when it has."""
        return self._done.wait(timeout)

    def _load_one(self, name, version, path):
        key = f"{name}/{version}"
        try:
            manifest = manifests.read_manifest(path)
            predictor = predictor_for(manifest, **self.predictor_options).load()
        except IntegrityError as exc:
            self._fail(key, str(exc), event="model_refused")
            return None
        except ImportError as exc:  # an optional runtime (onnxruntime) is not installed
            self.skipped[key] = str(exc)
            log.warning("model %s skipped: its runtime is not installed (%s); install the 'onnx' extra", key, exc,
                        extra={"event": "model_skipped", "model": key})
            return None
        except Exception as exc:  # a bad model must not take the others down
            self._fail(key, f"{type(exc).__name__}: {exc}")
            return None
        log.info(
            "model loaded: %s version %d (%s, sha256 %s)", name, version, manifest.framework, manifest.sha256,
            extra={"event": "model_loaded", "model": name, "version": version, "sha256": manifest.sha256},
        )
        if self.on_load is not None:
            self.on_load(predictor)
        return predictor

    def _fail(self, key, reason, event="model_load_failed"):
        self.failures[key] = reason
        log.error("model %s not loaded: %s", key, reason, extra={"event": event, "model": key})

    @property
    def ready(self):
        """True when loading has finished, every configured model has a version, and nothing failed."""
        skipped = {key.split("/")[0] for key in self.skipped}
        return self.loaded and not self.failures and all(n in self.models or n in skipped for n in self.configured)

    def versions(self, name):
        """The loaded version numbers of ``name``, ascending."""
        return sorted(self.models.get(name, {}))

    def get(self, name, version=LATEST):
        """Return the loaded predictor for ``name`` at ``version`` (an int or "latest")."""
        if not self._done.is_set():
            self._done.wait(self.load_wait)
        versions = self.models.get(name)
        if not versions:
            if not self.loaded and name in self.configured:
                raise ModelUnavailable(f"model {name!r} is still loading", headers={"Retry-After": "1"})
            if name in self.configured and any(k == name or k.startswith(name + "/") for k in self.failures):
                raise ModelUnavailable(f"model {name!r} failed to load; see GET /ready",
                                       {"failures": {k: v for k, v in self.failures.items()
                                                     if k == name or k.startswith(name + "/")}})
            raise ModelNotFound(f"model {name!r} not found", {"available": sorted(self.models)})
        wanted = parse_version(version)
        if wanted == LATEST:
            return versions[max(versions)]
        if wanted is None or wanted not in versions:
            raise VersionNotFound(
                f"version {version!r} of model {name!r} not found",
                {"available": sorted(versions)},
            )
        return versions[wanted]

    def all_latest(self):
        """The latest predictor of each loaded model, by name."""
        return [versions[max(versions)] for _, versions in sorted(self.models.items())]
