"""The model registry: discovers ``MODEL_DIR``, loads every version of the configured models
once per process, and resolves ``(name, version | "latest")`` to a loaded predictor."""

import logging
from pathlib import Path

from inference.core import manifest as manifests
from inference.core.errors import IntegrityError, ModelNotFound, VersionNotFound
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
    """Loaded predictors by name and version, plus what failed to load and why."""

    def __init__(self, model_dir, names=None):
        self.model_dir = Path(model_dir)
        self.requested = list(names) if names else None
        self.models = {}  # name -> {version: Predictor}
        self.failures = {}  # "name/version" or "name" -> reason
        self.loaded = False

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
            for version, path in sorted(versions.items()):
                self._load_one(name, version, path)
        self.loaded = True
        return self

    def _load_one(self, name, version, path):
        key = f"{name}/{version}"
        try:
            manifest = manifests.read_manifest(path)
            predictor = predictor_for(manifest).load()
        except IntegrityError as exc:
            self._fail(key, str(exc), level=logging.ERROR, event="model_refused")
            return
        except Exception as exc:  # a bad model must not take the others down
            self._fail(key, f"{type(exc).__name__}: {exc}", event="model_load_failed")
            return
        self.models.setdefault(name, {})[version] = predictor
        log.info(
            "model loaded: %s version %d (%s, sha256 %s)",
            name,
            version,
            manifest.framework,
            manifest.sha256,
            extra={"event": "model_loaded", "model": name, "version": version},
        )

    def _fail(self, key, reason, level=logging.ERROR, event="model_load_failed"):
        self.failures[key] = reason
        log.log(level, "model %s not loaded: %s", key, reason, extra={"event": event, "model": key})

    @property
    def ready(self):
        """True when loading has finished and every configured model has a loaded version
        and nothing failed."""
        return self.loaded and not self.failures and all(n in self.models for n in self.configured)

    def versions(self, name):
        """The loaded version numbers of ``name``, ascending."""
        return sorted(self.models.get(name, {}))

    def get(self, name, version=LATEST):
        """Return the loaded predictor for ``name`` at ``version`` (an int or "latest")."""
        versions = self.models.get(name)
        if not versions:
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
