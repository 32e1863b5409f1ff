"""Model runtimes, one class per framework, registered by the framework name a manifest gives.

A new framework is one new class decorated with ``@register``: the manifest's list of frameworks
and the V2 platform names come from this registry.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import TYPE_CHECKING

from inference.core.runtimes.base import Runtime

if TYPE_CHECKING:
    from inference.core.manifest import Manifest

log = logging.getLogger(__name__)
RUNTIMES: dict[str, type[Runtime]] = {}


def register(cls: type[Runtime]) -> type[Runtime]:
    """Class decorator: serve manifests whose ``framework`` is ``cls.framework`` with ``cls``."""
    RUNTIMES[cls.framework] = cls
    return cls


def frameworks() -> list[str]:
    """Every framework name a manifest may give."""
    return sorted(RUNTIMES)


def runtime_for(manifest: Manifest, use_compiled: bool = True) -> Runtime:
    """An unloaded runtime for ``manifest``: its verified compiled twin when it has one and
    ``use_compiled`` allows it, else the runtime of its framework."""
    twin = compiled_twin(manifest, use_compiled)
    if twin is not None:
        return twin
    try:
        cls = RUNTIMES[manifest.framework]
    except KeyError:
        raise LookupError(f"framework {manifest.framework!r} is not supported by this server") from None
    return cls(manifest)


def twin_usable(manifest: Manifest, use_compiled: bool = True) -> str | None:
    """None when ``manifest``'s compiled twin will serve; else why not (no twin, switched off,
    failed parity, onnxruntime missing). Decided from the manifest alone: nothing is loaded."""
    compiled = manifest.compiled
    if not compiled:
        return "no compiled twin"
    if not use_compiled:
        return "USE_COMPILED=0"
    if not compiled["parity"].get("passed"):
        return f"its compiled {compiled['format']} form failed its parity check"
    if importlib.util.find_spec("onnxruntime") is None:
        return "onnxruntime is not installed"
    return None


def engine_for(manifest: Manifest, use_compiled: bool = True) -> str:
    """The engine ``runtime_for`` would pick for ``manifest``, decided from the manifest alone
    (nothing is imported or loaded): which libraries a server needs before it loads a model."""
    if twin_usable(manifest, use_compiled) is None:
        return RUNTIMES["onnx"].engine
    cls = RUNTIMES.get(manifest.framework)
    return cls.engine if cls is not None else manifest.framework


def compiled_twin(manifest: Manifest, use_compiled: bool = True) -> Runtime | None:
    """The ONNX Runtime twin of ``manifest`` when ``twin_usable`` says it serves, else None (logged)."""
    why_not = twin_usable(manifest, use_compiled)
    if why_not is not None:
        if manifest.compiled and use_compiled:
            key = f"{manifest.name}/{manifest.version}"
            log.warning("%s: %s; serving with %s", key, why_not, manifest.framework,
                        extra={"event": "compiled_skipped", "model": key})
        return None
    compiled = manifest.compiled or {}
    # The twin answers in the form its source does (a forest's probabilities, a network's logits).
    return RUNTIMES["onnx"](manifest, artifact={"scores": RUNTIMES[manifest.framework].default_scores, **compiled})


# The built-in runtimes register themselves on import.
from inference.core.runtimes import onnx, pytorch, sklearn  # noqa: E402,F401
