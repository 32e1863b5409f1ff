"""The model registry: discovers ``MODEL_DIR``, loads every version of the configured models
once per process (in the foreground or a background thread), and resolves
``(name, version | "latest")`` to a loaded model."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from inference.core import golden
from inference.core import manifest as manifests
from inference.core.errors import IntegrityError, ModelNotFound, ModelUnavailable, VersionNotFound
from inference.core.runtimes import engine_for, runtime_for
from inference.core.served import NullObserver, Observer, ServedModel

log = logging.getLogger(__name__)
LATEST = "latest"


def parse_version(version: int | str | None) -> int | str | None:
    """A positive int, or LATEST for None / "latest"; None when it is neither.

    Text must be ASCII digits without a leading zero: ``str.isdigit`` also accepts "²" or "١".
    """
    if version is None or version == LATEST:
        return LATEST
    if isinstance(version, int) and not isinstance(version, bool):
        return version if version > 0 else None
    return manifests.parse_version_name(version) if isinstance(version, str) else None


def engines(model_dir: Path | str, names: list[str] | None = None, use_compiled: bool = True) -> set[str]:
    """The engines ("pytorch", "onnxruntime", ...) that the versions of the configured models will run
    on, read from their manifests without loading anything; an unreadable manifest counts for none."""
    found = set()
    for name in names or manifests.model_names(model_dir):
        for path in manifests.version_dirs(model_dir, name).values():
            try:
                found.add(engine_for(manifests.read_manifest(path), use_compiled))
            except Exception:  # noqa: BLE001 - the registry reports it when it loads the version
                continue
    return found


class ModelRegistry:
    """Loaded models by name and version, plus what failed to load and why.

    While a background load runs, ``get`` waits up to ``load_wait`` seconds for it, so that a
    worker that has just started (after a reload, say) holds requests for a moment instead of
    failing them. Failure reasons name files inside the repository, never absolute paths: they
    are shown to anyone who asks ``/ready``.
    """

    def __init__(self, model_dir: Path | str, names: list[str] | None = None, load_wait: float = 30.0,
                 coalesce: bool = True, use_compiled: bool = True, observer: Observer | None = None):
        self.model_dir = Path(model_dir)
        # The model names to serve, listed once: a model added to MODEL_DIR later is served after a
        # reload, and until then neither makes this process not-ready nor costs a listing per probe.
        self.configured: list[str] = list(names) if names else manifests.model_names(self.model_dir)
        self.models: dict[str, dict[int, ServedModel]] = {}  # each inner dict is complete when published
        self.failures: dict[str, str] = {}  # "name" or "name/version" -> reason
        self.skipped: dict[str, str] = {}  # "name/version" -> why its runtime is missing (not a failure)
        self.loaded = False
        self.load_wait = load_wait
        self.coalesce = coalesce
        self.use_compiled = use_compiled
        self.observer: Observer = observer or NullObserver()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def load_all(self) -> ModelRegistry:
        """Load every version of every configured model; record failures instead of raising."""
        if not self.configured:
            self._fail("MODEL_DIR", "no models found: the model repository is missing or empty (set MODEL_DIR, "
                                    "or build the bundled models with `make artifacts`)")
        for name in self.configured:
            versions = manifests.version_dirs(self.model_dir, name)
            if not versions:
                self._fail(name, f"no versions of model {name!r} in the model repository")
                continue
            loaded = {}
            for version, path in sorted(versions.items()):
                model = self._load_one(name, version, path)
                if model is not None:
                    loaded[version] = model
            if loaded:
                self.models[name] = loaded  # one assignment: readers never see a half-filled dict
        self.loaded = True
        self._done.set()
        return self

    def load_in_background(self) -> ModelRegistry:
        """Start ``load_all`` in a daemon thread, so that the worker answers probes meanwhile."""
        self._thread = threading.Thread(target=self.load_all, name="model-loader", daemon=True)
        self._thread.start()
        return self

    @property
    def loading(self) -> bool:
        """True while a background load is still running."""
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for loading to finish; True when it has."""
        return self._done.wait(timeout)

    def settle(self) -> None:
        """Wait up to ``load_wait`` seconds for a background load still running: what a lookup, or
        a list of every model (GET /models, the OpenAPI document), does before it answers."""
        if not self._done.is_set():
            self._done.wait(self.load_wait)

    def _load_one(self, name: str, version: int, path: Path) -> ServedModel | None:
        key = f"{name}/{version}"
        try:
            manifest = manifests.read_manifest(path)
            runtime = runtime_for(manifest, self.use_compiled).load()
            golden.check(runtime)
        except (IntegrityError, golden.GoldenMismatch) as exc:
            self._fail(key, str(exc), event="model_refused")
            self.observer.load_result(name, str(version), failed=True)
            return None
        except ImportError as exc:  # an optional runtime (onnxruntime) is not installed
            self.skipped[key] = str(exc)
            log.warning("model %s skipped: its runtime is not installed (%s); install the 'onnx' extra", key, exc,
                        extra={"event": "model_skipped", "model": key})
            return None
        except Exception as exc:  # a bad model must not take the others down
            self._fail(key, f"{type(exc).__name__}: {exc}")
            self.observer.load_result(name, str(version), failed=True)
            return None
        self.observer.load_result(name, str(version), failed=False)
        model = ServedModel(runtime, coalesce=self.coalesce, observer=self.observer)
        log.info(
            "model loaded: %s version %d (%s on %s, sha256 %s)", name, version, manifest.framework, runtime.engine,
            runtime.sha256, extra={"event": "model_loaded", "model": name, "version": version,
                                   "runtime": runtime.engine, "sha256": runtime.sha256},
        )
        self.observer.loaded(model)
        return model

    def _fail(self, key: str, reason: str, event: str = "model_load_failed") -> None:
        self.failures[key] = reason.replace(str(self.model_dir.resolve()), "MODEL_DIR")
        log.error("model %s not loaded: %s", key, reason, extra={"event": event, "model": key})

    @property
    def ready(self) -> bool:
        """True when loading has finished, something loaded, every configured model has a version,
        and nothing failed."""
        skipped = {key.split("/")[0] for key in self.skipped}
        return (self.loaded and not self.failures and bool(self.models)
                and all(n in self.models or n in skipped for n in self.configured))

    def versions(self, name: str) -> list[int]:
        """The loaded version numbers of ``name``, ascending."""
        return sorted(self.models.get(name, {}))

    def get(self, name: str, version: int | str | None = LATEST) -> ServedModel:
        """The loaded model ``name`` at ``version`` (an int, its ASCII digits, or "latest")."""
        self.settle()
        versions = self.models.get(name)
        if not versions:
            if not self.loaded and name in self.configured:
                raise ModelUnavailable(f"model {name!r} is still loading", headers={"Retry-After": "1"})
            failed = {k: v for k, v in self.failures.items() if k == name or k.startswith(name + "/")}
            if name in self.configured and failed:
                raise ModelUnavailable(f"model {name!r} failed to load; see GET /ready", {"failures": failed})
            raise ModelNotFound(f"model {name!r} not found", {"available": sorted(self.models)})
        wanted = parse_version(version)
        if wanted == LATEST:
            return versions[max(versions)]
        if not isinstance(wanted, int) or wanted not in versions:
            raise VersionNotFound(f"version {str(version)[:40]!r} of model {name!r} not found",
                                  {"available": sorted(versions)})
        return versions[wanted]

    def all_versions(self) -> list[ServedModel]:
        """Every loaded version of every model, by name and version."""
        return [model for _, versions in sorted(self.models.items()) for _, model in sorted(versions.items())]

    def all_latest(self) -> list[ServedModel]:
        """The latest version of each loaded model, by name."""
        return [versions[max(versions)] for _, versions in sorted(self.models.items())]
