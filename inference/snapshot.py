"""A verified snapshot of the model repository, which the workers load instead of ``MODEL_DIR``.

The Gunicorn master builds one at start and one on every reload (HUP): each version folder whose
manifest reads and whose files hash to their manifest's SHA-256 is copied into a new generation
(hard-linked from the previous generation when its manifest has not changed, so a reload copies
only what is new). A version that no longer verifies (its weights file
deleted, truncated, half-copied) keeps the copy of the previous generation, with an ERROR line,
so a reload never drops a model that was serving. A version folder that is gone was retired on
purpose and is dropped; a version that never verified is passed on as it is, and the workers
refuse it and report it in ``/ready`` as before.
"""

import logging
import os
import shutil
from pathlib import Path

from inference.core.errors import ManifestError
from inference.core.manifest import MANIFEST_NAME, model_names, read_manifest, version_dirs

log = logging.getLogger(__name__)


def problem(version_dir):
    """Why this version cannot be served (None when its manifest and every file it names check out)."""
    try:
        read_manifest(version_dir).verify_all()
    except (ManifestError, OSError) as exc:
        return str(exc)
    return None


def _place(src, dst, link):
    """Hard links (inside the snapshot: nobody edits those files) or copies (from MODEL_DIR)."""
    shutil.copytree(src, dst, copy_function=os.link if link else shutil.copy2)


def _same_manifest(a, b):
    try:
        return (Path(a) / MANIFEST_NAME).read_bytes() == (Path(b) / MANIFEST_NAME).read_bytes()
    except OSError:
        return False


def _snapshot_version(src, old, target):
    """Place one version into ``target``; return its state ("verified", "kept", "unverified") and why."""
    reason = problem(src)
    if reason is None:
        if old is not None and _same_manifest(src, old):
            _place(old, target, link=True)  # unchanged since the previous snapshot: share its verified files
            return "verified", None
        # A copy, not a hard link: `cp new.pt model.pt` rewrites MODEL_DIR's file in place, and a
        # link would carry that (half-done) change into the snapshot.
        _place(src, target, link=False)
        reason = problem(target)  # the files may have changed while they were copied
        if reason is None:
            return "verified", None
        shutil.rmtree(target)
    if old is not None and problem(old) is None:
        _place(old, target, link=True)
        return "kept", reason
    _place(src, target, link=False)  # the workers refuse it and say why in /ready, as without a snapshot
    return "unverified", reason


def build(source, previous, dest):
    """Write the snapshot of ``source`` into ``dest`` (new), falling back on ``previous`` (or None).

    Returns ``{"name/version": "verified" | "kept" | "unverified"}``.
    """
    source, dest = Path(source), Path(dest)
    dest.mkdir(parents=True)
    report = {}
    for name in model_names(source):
        for version, src in sorted(version_dirs(source, name).items()):
            key = f"{name}/{version}"
            old = Path(previous) / name / str(version) if previous else None
            state, reason = _snapshot_version(src, old if old is not None and old.is_dir() else None,
                                              dest / name / str(version))
            report[key] = state
            if state == "kept":
                log.error("model %s in %s cannot be served (%s); the workers keep serving the copy verified at "
                          "the previous start or reload. Restore the files, then reload again.", key, source, reason,
                          extra={"event": "model_kept_previous", "model": key})
            elif state == "unverified":
                log.warning("model %s in %s does not verify (%s) and has no earlier verified copy", key, source,
                            reason, extra={"event": "model_unverified", "model": key})
    return report


def refresh(source, root):
    """Build the next generation under ``root`` from ``source``; keep the last two; return its path."""
    root = Path(root)
    generations = sorted((int(p.name) for p in root.iterdir() if p.name.isdigit()), reverse=True)
    previous = root / str(generations[0]) if generations else None
    dest = root / str((generations[0] if generations else 0) + 1)
    report = build(source, previous, dest)
    for old in generations[1:]:  # older workers than the previous generation's are gone by now
        shutil.rmtree(root / str(old), ignore_errors=True)
    counts = {state: sum(1 for s in report.values() if s == state) for state in ("verified", "kept", "unverified")}
    log.info("model snapshot %s: %d verified, %d kept from the previous snapshot, %d unverified", dest,
             counts["verified"], counts["kept"], counts["unverified"], extra={"event": "model_snapshot", **counts})
    return dest
