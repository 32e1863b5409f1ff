"""The audit log (``AUDIT_LOG=<path>``): one JSON line per answered prediction, and its checker.

A line names the time, the request id, the model version, the runtime, the file that computed
the answer and its SHA-256 (a verified compiled twin, or the weights file), the weights file and
its SHA-256, a SHA-256 of the canonical input, the outputs as served and their SHA-256, and a
SHA-256 of the line itself; the raw inputs only with ``AUDIT_INPUTS=1``.

Lines from every worker go to one file, each written by ONE ``write()`` on a descriptor opened
with O_APPEND: on a local Linux filesystem (ext4, xfs, btrfs, tmpfs) the kernel appends it whole,
never interleaved with another process's line. A line is at most MAX_LINE bytes: past that, the
raw inputs and then the outputs are left out (their hashes stay). The line is written before the
answer is returned, so every 200 answer has its line; when it cannot be written the request
fails with 503 instead of answering unaudited. Rotation: rename the file (logrotate's default
``create`` mode); each worker notices the path now names another file and reopens it.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from inference.core.errors import InferenceError
from inference.core.manifest import Manifest
from inference.core.prediction import Prediction

# One write() of a line this size is appended whole; a SIGKILL can interrupt a write only
# between pages, so the smaller the line the smaller that window (see docs/monitoring.md).
MAX_LINE = 16 * 1024
HASH = re.compile(r"^[0-9a-f]{64}$")
HASHES = ("sha256", "source_sha256", "input_sha256", "outputs_sha256", "record_sha256")
REQUIRED = {"time": str, "request_id": (str, type(None)), "model": str, "version": int, "runtime": str,
            "file": str, "sha256": str, "source_file": str, "source_sha256": str, "rows": int,
            "input_sha256": str, "outputs_sha256": str, "record_sha256": str}
OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY


class AuditUnavailable(InferenceError):
    """The answer was computed but its audit line could not be written, so it is not returned."""

    status = 503
    code = "audit_unavailable"


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, numbers in their shortest exact form."""
    return orjson.dumps(value, option=OPTIONS)


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def canonical_rows(inputs: Any, manifest: Manifest) -> list[Any]:
    """The validated rows as the model got them, one ``{feature: value}`` object per row: numbers
    (integers too) as floats, booleans, strings; an image model's rows as lists of pixel values.
    The same input sent positionally or by name has the same canonical form."""
    features = manifest.features
    if not features:
        return np.asarray(inputs, dtype=np.float64).tolist()
    if not hasattr(inputs, "iloc"):
        return [dict(zip(features, row, strict=True)) for row in np.asarray(inputs, dtype=np.float64).tolist()]
    cast = {"boolean": bool, "string": str}
    values = [[cast.get(manifest.feature_type(f)["type"], float)(v) for v in inputs[f].tolist()] for f in features]
    return [dict(zip(features, row, strict=True)) for row in zip(*values, strict=True)]


def served_outputs(prediction: Prediction) -> dict[str, Any]:
    """The outputs as the answer gives them: labels and probabilities, or values."""
    if prediction.model.is_classifier:
        return {"labels": prediction.predicted_labels, "probabilities": prediction.outputs}
    return {"values": prediction.outputs}


def record(prediction: Prediction, request_id: str | None, with_inputs: bool, now: datetime | None = None) -> bytes:
    """The audit line of one prediction (newline included), at most MAX_LINE bytes."""
    model = prediction.model
    runtime, manifest = model.runtime, model.manifest
    rows = canonical_rows(prediction.inputs, manifest)
    outputs = served_outputs(prediction)
    line: dict[str, Any] = {
        "time": (now or datetime.now(UTC)).isoformat(timespec="milliseconds"),
        "request_id": request_id, "model": model.name, "version": model.version,
        "runtime": runtime.engine, "file": runtime.file, "sha256": runtime.sha256,
        "source_file": manifest.file, "source_sha256": manifest.sha256,
        "rows": prediction.rows, "input_sha256": sha256(canonical(rows)),
        "outputs_sha256": sha256(canonical(outputs)), "outputs": outputs,
        "warned_rows": 0 if prediction.warnings is None else sum(1 for w in prediction.warnings if w),
    }
    if with_inputs:
        line["inputs"] = rows
    encoded = canonical(line)
    for bulky in ("inputs", "outputs"):  # summarise huge batches: their hashes stay
        if len(encoded) + 100 <= MAX_LINE:
            break
        if bulky in line:
            del line[bulky]
            line["omitted"] = [*line.get("omitted", []), bulky]
            encoded = canonical(line)
    line["record_sha256"] = sha256(encoded)
    return canonical(line) + b"\n"


class AuditLog:
    """Appends lines to one file shared by every worker: a descriptor per process (opened after
    the fork, on first use), reopened when the path is renamed away (rotation)."""

    def __init__(self, path: str, inputs: bool = False):
        self.path = path
        self.inputs = inputs
        self._lock = threading.Lock()  # one worker's threads: no write on a descriptor being replaced
        self._fd: int | None = None
        self._pid: int | None = None
        self._identity: tuple[int, int] | None = None

    def _descriptor(self) -> int:
        if self._fd is not None and self._pid == os.getpid() and self._same_file():
            return self._fd
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)  # rotated: the old file keeps every line written so far
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        st = os.fstat(fd)
        self._fd, self._pid, self._identity = fd, os.getpid(), (st.st_dev, st.st_ino)
        return fd

    def _same_file(self) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        return (st.st_dev, st.st_ino) == self._identity

    def write(self, line: bytes) -> None:
        """Append one line in one write(); AuditUnavailable when it is not written whole."""
        try:
            with self._lock:
                written = os.write(self._descriptor(), line)
        except OSError as exc:
            raise AuditUnavailable(f"the audit log cannot be written ({exc.strerror}); the prediction was not "
                                   "returned") from None
        if written != len(line):
            raise AuditUnavailable("the audit log accepted only part of the line (disk full?); the prediction was "
                                   "not returned")

    def log(self, prediction: Prediction, request_id: str | None) -> None:
        """Write the line of one answered prediction."""
        self.write(record(prediction, request_id, self.inputs))

    def close(self) -> None:
        """Close this process's descriptor."""
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None


# ---- checking a log ------------------------------------------------------------------------


@dataclass
class Verdict:
    """What ``verify`` found: lines read, problems by line number, input hashes checked."""

    lines: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    inputs_checked: int = 0
    inputs_absent: int = 0

    @property
    def ok(self) -> bool:
        return self.lines > 0 and not self.problems


def check_line(raw: bytes, check_inputs: bool) -> tuple[list[str], bool | None]:
    """The problems of one line (without its newline), and whether its inputs were checked
    (None: the line carries no inputs)."""
    try:
        line = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return [f"not JSON ({exc})"], None
    if not isinstance(line, dict):
        return ["not a JSON object"], None
    problems = [f"{name}: missing or not {kind}" for name, kind in REQUIRED.items()
                if not isinstance(line.get(name), kind) or isinstance(line.get(name), bool)]
    problems += [f"{name}: not a hex SHA-256" for name in HASHES if isinstance(line.get(name), str)
                 and not HASH.match(line[name])]
    if problems:
        return problems, None
    try:
        datetime.fromisoformat(line["time"])
    except ValueError:
        problems.append("time: not an ISO 8601 time")
    claimed = line.pop("record_sha256")
    if sha256(canonical(line)) != claimed:
        problems.append("record_sha256 does not match the line (edited or damaged)")
    if "outputs" in line and sha256(canonical(line["outputs"])) != line["outputs_sha256"]:
        problems.append("outputs_sha256 does not match the outputs")
    checked = None
    if check_inputs and "inputs" in line:
        checked = True
        if sha256(canonical(line["inputs"])) != line["input_sha256"]:
            problems.append("input_sha256 does not match the inputs")
        elif len(line["inputs"]) != line["rows"]:
            problems.append("rows does not match the inputs")
    return problems, checked


def verify(lines: Iterable[bytes], check_inputs: bool = False) -> Verdict:
    """Check every line of a log (as read, newlines kept): complete, JSON, fields, hashes."""
    verdict = Verdict()
    for number, raw in enumerate(lines, start=1):
        verdict.lines = number
        if not raw.endswith(b"\n"):
            verdict.problems.append((number, "incomplete last line (no newline): torn or still being written"))
            continue
        problems, checked = check_line(raw[:-1], check_inputs)
        verdict.problems.extend((number, p) for p in problems)
        if check_inputs and checked is None and not problems:
            verdict.inputs_absent += 1
        elif checked:
            verdict.inputs_checked += 1
    return verdict
