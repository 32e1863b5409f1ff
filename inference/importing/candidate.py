"""A model about to become a version: what will be written, and the rows it is checked on."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from inference.core.publish import publish
from inference.importing import signature
from inference.importing.signature import SignatureError

GOLDEN_SEED = 42
# A converted form (an ONNX twin or export) serves only when it agrees with the original within
# this on the sample and on PARITY_RANDOM_ROWS random rows around the sample's range.
PARITY_TOLERANCE = 1e-5
PARITY_RANDOM_ROWS = 2000
TWIN_FILE = "model.onnx"


@dataclass
class Candidate:
    """Everything ``publish`` needs to write one version of a model added from outside."""

    framework: str
    task: str
    features: list[str]
    types: dict[str, dict[str, Any]]
    file: str  # the weights file's name in the version folder
    write_files: Callable[[Path], None]  # puts the weights (and any twin) into the folder
    labels: list[str] | None = None
    output_names: list[str] | None = None
    frame: bool = False
    scores: str | None = None
    serialization: str | None = None
    trusted_types: list[str] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    sample: Any = None  # a DataFrame of example rows in the model's column order, or None
    compiled: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)  # what ``add`` tells the operator

    def manifest(self) -> dict[str, Any]:
        """The manifest, less name, version and hash (``publish`` adds those)."""
        outputs: dict[str, Any] = {"labels": self.labels} if self.task == "classification" else {
            "names": self.output_names or ["prediction"]}
        if self.scores:
            outputs["scores"] = self.scores
        manifest: dict[str, Any] = {
            "framework": self.framework, "task": self.task, "file": self.file,
            "inputs": {"features": self.features, "types": self.types, "frame": self.frame,
                       "shape": [-1, len(self.features)]},
            "outputs": outputs, "source": self.source,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "data": {"sample_rows": 0 if self.sample is None else len(self.sample)},
        }
        if self.serialization:
            manifest["serialization"] = self.serialization
        if self.trusted_types:
            manifest["trusted_types"] = self.trusted_types
        if self.compiled:
            manifest["compiled"] = self.compiled
        return manifest

    def golden_rows(self) -> list[Any]:
        """Rows for the golden outputs: the sample's first rows, or seeded random rows for a
        numeric model that came without one (golden rows check reproducibility, not accuracy)."""
        if self.sample is not None:
            return signature.rows_of(self.sample, 20)
        if self.frame or any(t["type"] != signature.NUMBER for t in self.types.values()):
            raise SignatureError("this model takes typed columns: give --sample with a few rows of real data")
        rng = np.random.default_rng(GOLDEN_SEED)
        return rng.standard_normal((20, len(self.features))).round(4).tolist()

    def publish(self, model_dir: Path | str | os.PathLike[str], name: str) -> Path:
        """Write this candidate as the next version of ``name``; return its folder."""

        def write(folder: Path) -> dict[str, Any]:
            self.write_files(folder)
            return self.manifest()

        return publish(model_dir, name, write, golden_rows=self.golden_rows(), reference_rows=self.sample,
                       reference_source="sample")


def copy_into(source: Path, name: str) -> Callable[[Path], None]:
    """A ``write_files`` that copies ``source`` into the version folder as ``name``."""

    def write(folder: Path) -> None:
        shutil.copyfile(source, folder / name)

    return write
