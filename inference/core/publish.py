"""Publishing a model version: the one way train, export, ``inference add`` and ``save_model``
write into the repository. Files go into a temporary folder, the manifest is written last (with
the SHA-256 of every file and the golden outputs of the runtime that will serve it), and one
rename puts the version in place. A failure leaves nothing behind, not even an empty model folder.
The manifest also gets the reference statistics of the data the version was trained on (or of the
sample it came with), against which the server measures drift and flags out-of-range inputs."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inference.core import golden, reference
from inference.core.manifest import MODEL_NAME, read_manifest, sha256_file, version_dirs, write_manifest
from inference.core.runtimes import runtime_for

# write(folder) puts the version's files into ``folder`` and returns its manifest, less name,
# version and the weights file's sha256, which publish fills in.
Writer = Callable[[Path], dict[str, Any]]


class PublishError(Exception):
    """The version could not be written (nothing was left behind)."""


def next_version(model_dir: Path | str | os.PathLike[str], name: str) -> int:
    """One more than the highest version of ``name`` (1 for a new model)."""
    existing = version_dirs(model_dir, name)
    return max(existing) + 1 if existing else 1


def publish(model_dir: Path | str | os.PathLike[str], name: str, write: Writer, golden_rows: list[Any] | None = None,
            version: int | None = None, replace: bool = False, reference_rows: Any = None,
            reference_source: str = "training data") -> Path:
    """Write a version of ``name`` (the next one unless ``version``) and return its folder.

    ``golden_rows``: sample rows (name->value objects or positional lists) whose outputs are
    recorded as the version's golden outputs. ``replace`` overwrites an existing ``version``.
    ``reference_rows``: the training (or sample) data, a DataFrame or rows in feature order, whose
    statistics become the manifest's ``reference`` (unless ``write`` already returned one), named
    by ``reference_source``. Image models get none (see ``reference_of``).
    """
    if not MODEL_NAME.match(name):
        raise PublishError(f"invalid model name {name!r}: use lower-case letters, digits, '.', '_' and '-', "
                           "starting with a letter or digit")
    root = Path(model_dir) / name
    created_root = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        version = version or next_version(model_dir, name)
        manifest = {"name": name, "version": version, **write(tmp)}
        if "reference" not in manifest:
            stats = reference_of(manifest, reference_rows, reference_source)
            if stats:
                manifest["reference"] = stats
        manifest["sha256"] = sha256_file(tmp / manifest["file"])
        write_manifest(tmp, manifest)
        if golden_rows:
            runtime = runtime_for(read_manifest(tmp, check_location=False)).load()
            manifest["golden"] = golden.record(runtime, golden_rows)
            write_manifest(tmp, manifest)
        read_manifest(tmp, check_location=False)  # what was written must read back
        final = root / str(version)
        if replace and final.exists():
            shutil.rmtree(final)
        try:
            os.rename(tmp, final)
        except OSError as exc:  # another writer took this version number meanwhile
            raise PublishError(f"{name}/{version} appeared while it was being written; nothing was written") from exc
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if created_root and not any(root.iterdir()):
            root.rmdir()
        raise


def reference_of(manifest: dict[str, Any], rows: Any, source: str) -> dict[str, Any] | None:
    """Reference statistics of ``rows`` for a tabular manifest. None for image models: a per-pixel
    distribution says nothing useful about a picture, and 64+ features would bloat the manifest."""
    features = manifest["inputs"].get("features")
    if rows is None or not features:
        return None
    return reference.describe(rows, features, manifest["inputs"].get("types"), source)
