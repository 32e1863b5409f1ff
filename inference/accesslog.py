"""The request log: one JSON line per request, built directly with orjson and written in batches.

Going through ``logging`` cost about 30 µs of CPU per line (a LogRecord with a dozen attributes,
the caller's frame looked up, a handler lock, a formatter, a write and a flush per line): 15% of
a one-row prediction. Here a line is one ``orjson.dumps`` appended to a buffer; the buffer goes
out (in writes of whole lines, each at most PIPE_BUF bytes, so that on a pipe no other worker's
write lands inside a line) when it holds ``max_bytes``, when a line finds it older than ``interval``
seconds, from a background thread that checks every ``interval`` seconds (so that an idle server's
last lines wait at most that long), and when the process exits normally (``atexit``: a Gunicorn
worker's graceful stop, a reload, a recycle). A worker that is killed (SIGKILL, a crash) loses at
most the last ``interval`` seconds of lines; ``interval=0`` writes every line at once.
"""

from __future__ import annotations

import atexit
import functools
import os
import select
import threading
import time
import weakref
from datetime import UTC, datetime
from typing import Any

import orjson

LOGGER = "inference.access"
DEFAULT_INTERVAL = 1.0
DEFAULT_MAX_BYTES = 64 * 1024
# Writes of at most this many bytes to a pipe (a container's stdout, journald) are never split by
# another process's write: every worker shares stderr, so each write holds whole lines, up to this.
ATOMIC_WRITE = select.PIPE_BUF


class AccessLog:
    """A buffered writer of JSON lines to a file descriptor (by default stderr's); thread-safe."""

    def __init__(self, fd: int = 2, interval: float = DEFAULT_INTERVAL, max_bytes: int = DEFAULT_MAX_BYTES):
        self.fd = fd
        self.interval = interval
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._size = 0
        self._oldest = 0.0  # monotonic time of the first line in the buffer
        self._flusher: threading.Thread | None = None
        self._stop = threading.Event()
        _WRITERS.add(self)

    def write(self, fields: dict[str, Any]) -> None:
        """Log one request: ``fields`` after the level, logger and message, with the time last."""
        line = orjson.dumps({"level": "INFO", "logger": LOGGER, "message": "request", **fields,
                             "time": datetime.now(UTC).isoformat()}, option=orjson.OPT_APPEND_NEWLINE)
        if self.interval <= 0:
            self._write(line)
            return
        now = time.monotonic()
        with self._lock:
            if not self._chunks:
                self._oldest = now
            self._chunks.append(line)
            self._size += len(line)
            full = self._size >= self.max_bytes or now - self._oldest >= self.interval
            data = self._take() if full else None
        if data:
            self._write(data)
        if self._flusher is None:
            self._start_flusher()

    def flush(self) -> None:
        """Write out whatever is buffered."""
        with self._lock:
            data = self._take()
        if data:
            self._write(data)

    def close(self) -> None:
        """Flush and stop the background thread."""
        self._stop.set()
        self.flush()
        _WRITERS.discard(self)

    def _take(self) -> list[bytes]:
        """The buffered lines as blocks of whole lines, each at most ATOMIC_WRITE bytes (a longer
        line is a block of its own)."""
        blocks: list[bytes] = []
        block: list[bytes] = []
        size = 0
        for line in self._chunks:
            if block and size + len(line) > ATOMIC_WRITE:
                blocks.append(b"".join(block))
                block, size = [], 0
            block.append(line)
            size += len(line)
        if block:
            blocks.append(b"".join(block))
        self._chunks.clear()
        self._size = 0
        return blocks

    def _write(self, data: bytes | list[bytes]) -> None:
        for block in [data] if isinstance(data, bytes) else data:
            view = memoryview(block)
            while view:
                try:
                    written = os.write(self.fd, view)
                except InterruptedError:
                    continue
                except OSError:
                    return  # stderr closed or full disk: a log line must never fail a request
                view = view[written:]

    def _start_flusher(self) -> None:
        # Started by the first line in each process (a thread does not survive a fork), so each
        # worker gets its own.
        with self._lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._flush_periodically, name="access-log-flush", daemon=True)
            self._flusher.start()

    def _flush_periodically(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                stale = self._chunks and time.monotonic() - self._oldest >= self.interval
                data = self._take() if stale else None
            if data:
                self._write(data)


_WRITERS: weakref.WeakSet[AccessLog] = weakref.WeakSet()


def flush_all() -> None:
    """Write out every writer's buffered lines (at exit, and before a worker's hard exit)."""
    for writer in list(_WRITERS):
        writer.flush()


def _after_fork_in_child() -> None:
    # A lock held by another thread at the fork would never be released in the child, and lines
    # buffered before the fork belong to the parent.
    for writer in list(_WRITERS):
        writer._lock = threading.Lock()
        writer._chunks = []
        writer._size = 0
        writer._flusher = None


@functools.cache
def shared(interval: float = DEFAULT_INTERVAL, fd: int = 2) -> AccessLog:
    """The process's writer to ``fd`` with this flush interval (every app built in it shares one)."""
    return AccessLog(fd, interval)


atexit.register(flush_all)
os.register_at_fork(after_in_child=_after_fork_in_child)
