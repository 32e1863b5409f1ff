"""Where each worker keeps its Prometheus values in multiprocess mode, made safe against a full disk.

prometheus_client keeps each worker's values in files under ``PROMETHEUS_MULTIPROC_DIR`` that it
grows with ``ftruncate`` and writes through ``mmap``. On a full filesystem the new pages have no
backing, and the first write to one kills the process with SIGBUS: every worker crashed on its
first metric update, over and over, and no prediction was answered. Here the file's blocks are
allocated (``posix_fallocate``) before they are mapped, so a full disk is an ``OSError`` instead;
the worker then keeps its values in memory, logs once, retries now and then, and writes them all
when space returns. Predictions never fail for metrics.

Installed through ``prometheus_client.values.ValueClass``, the library's hook for a custom value
store (how ``MultiProcessValue(process_identifier)`` is meant to be plugged in); the files keep
prometheus_client's own format, so ``MultiProcessCollector`` reads them unchanged.
"""

import logging
import mmap
import os
import threading
import time

from prometheus_client.mmap_dict import MmapedDict, _pack_integer, _unpack_integer, mmap_key

log = logging.getLogger(__name__)
INITIAL_SIZE = mmap.PAGESIZE  # allocated for real, so start small (prometheus_client: 64 KiB, sparse)
RETRY_SECONDS = 5.0  # how often a worker whose files cannot be written tries again


class PreallocatedMmapedDict(MmapedDict):
    """prometheus_client's per-process file, with every page allocated on disk before it is mapped."""

    def __init__(self, filename):  # noqa: D107 (the parent's layout; only the allocation differs)
        f = open(filename, "a+b")
        try:
            capacity = max(os.fstat(f.fileno()).st_size, INITIAL_SIZE)
            os.posix_fallocate(f.fileno(), 0, capacity)  # ENOSPC here, not SIGBUS on a later write
            m = mmap.mmap(f.fileno(), capacity, access=mmap.ACCESS_WRITE)
        except BaseException:
            f.close()
            raise
        self._f, self._fname, self._capacity, self._m = f, filename, capacity, m
        self._positions = {}
        self._used = _unpack_integer(m, 0)[0]
        if self._used == 0:
            self._used = 8
            _pack_integer(m, 0, self._used)
        else:
            for key, _, _, pos in self._read_all_values():
                self._positions[key] = pos

    def _init_value(self, key):
        """Grow the file (allocated first) when the new key does not fit, then add it as the parent does."""
        encoded = key.encode("utf-8")
        size = 4 + len(encoded) + (8 - (len(encoded) + 4) % 8) + 16
        if self._used + size > self._capacity:
            capacity = self._capacity
            while self._used + size > capacity:
                capacity *= 2
            os.posix_fallocate(self._f.fileno(), 0, capacity)
            self._m = mmap.mmap(self._f.fileno(), capacity)
            self._capacity = capacity
        super()._init_value(key)


class Storage:
    """This process's metrics files, and whether they can be written right now."""

    def __init__(self, retry_seconds=RETRY_SECONDS, clock=time.monotonic):
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.lock = threading.Lock()
        self.values = []
        self._reset()

    def _reset(self):
        self.pid = os.getpid()
        self.files = {}
        self.failed_at = None  # monotonic time of the last failure; None while healthy

    def check_pid(self):
        """After a fork, start over with this process's own files (and its own values)."""
        if self.pid == os.getpid():
            return
        for f in self.files.values():
            f.close()
        self._reset()
        for value in self.values:
            value._value, value._timestamp = self.read(value)

    def _path(self, prefix):
        return os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], f"{prefix}_{self.pid}.db")

    def _file(self, prefix):
        f = self.files.get(prefix)
        if f is None:
            f = self.files[prefix] = PreallocatedMmapedDict(self._path(prefix))
            # The samples made before the file existed go in now, written or not: a histogram's
            # buckets no observation reached are samples too (0), and without its +Inf bucket
            # PromQL's histogram_quantile is NaN.
            for value in self.values:
                if value._prefix == prefix:
                    f.write_value(value._key, value._value, value._timestamp)
        return f

    def usable(self):
        """True when writes can go to the files; after a failure, True again once a retry succeeds."""
        if self.failed_at is None:
            return True
        if self.clock() - self.failed_at < self.retry_seconds:
            return False
        try:  # write every value this process holds: what was counted meanwhile is not lost
            for value in self.values:
                self._file(value._prefix).write_value(value._key, value._value, value._timestamp)
        except (OSError, ValueError) as exc:
            self.failed_at = self.clock()
            log.debug("metrics storage still failing: %s", exc)
            return False
        self.failed_at = None
        log.warning("metrics files in %s are writable again; this worker's metrics are complete",
                    os.environ.get("PROMETHEUS_MULTIPROC_DIR"), extra={"event": "metrics_storage_recovered"})
        return True

    def fail(self, exc):
        """Stop writing until the next retry; log only the first failure of a run of them."""
        first = self.failed_at is None
        self.failed_at = self.clock()
        if first:
            log.error("metrics cannot be written to %s (%s); predictions go on, this worker keeps its metrics in "
                      "memory and writes them once space returns (retrying every %g s)",
                      os.environ.get("PROMETHEUS_MULTIPROC_DIR"), exc, self.retry_seconds,
                      extra={"event": "metrics_storage_failed"})

    def read(self, value):
        """The value stored for ``value``'s key in this process's file, or zeros when unavailable.

        A file is created on the first write, not here: the Gunicorn master imports the metrics
        (shared pages) but never writes one. An existing file (a dead worker's, whose pid this
        process reuses) is read, so that its counters go on from where they were.
        """
        if value._prefix not in self.files and not os.path.exists(self._path(value._prefix)):
            return 0.0, 0.0
        if not self.usable():
            return 0.0, 0.0
        try:
            return self._file(value._prefix).read_value(value._key)
        except (OSError, ValueError) as exc:
            self.fail(exc)
            return 0.0, 0.0

    def write(self, value):
        """Store ``value`` if the files can be written; otherwise it waits in memory."""
        if not self.usable():
            return
        try:
            self._file(value._prefix).write_value(value._key, value._value, value._timestamp)
        except (OSError, ValueError) as exc:
            self.fail(exc)


def folder_problem(path):
    """Why ``path`` cannot hold the metrics files (None when it can); a missing folder is created."""
    if os.path.exists(path) and not os.path.isdir(path):
        return "is not a folder"
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, f".write-test-{os.getpid()}")
        with open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as exc:
        return f"cannot be used: {exc.strerror or exc}"
    return None


def value_class(storage=None):
    """A ``prometheus_client.values.ValueClass`` for multiprocess mode that never crashes the process."""
    storage = storage or Storage()

    class SafeMultiProcessValue:
        """One sample's value: in memory always, in this process's file whenever it can be written."""

        _multiprocess = True

        def __init__(self, typ, metric_name, name, labelnames, labelvalues, help_text, multiprocess_mode="",
                     **kwargs):
            self._prefix = f"{typ}_{multiprocess_mode}" if typ == "gauge" else typ
            self._key = mmap_key(metric_name, name, labelnames, labelvalues, help_text)
            self._value, self._timestamp = 0.0, 0.0
            with storage.lock:
                storage.check_pid()
                storage.values.append(self)
                self._value, self._timestamp = storage.read(self)

        def inc(self, amount):
            with storage.lock:
                storage.check_pid()
                self._value += amount
                self._timestamp = 0.0
                storage.write(self)

        def set(self, value, timestamp=None):
            with storage.lock:
                storage.check_pid()
                self._value = value
                self._timestamp = timestamp or 0.0
                storage.write(self)

        def set_exemplar(self, exemplar):
            return  # prometheus_client has no exemplars in multiprocess mode either

        def get(self):
            with storage.lock:
                storage.check_pid()
                return self._value

        def get_exemplar(self):
            return None

    SafeMultiProcessValue.storage = storage
    return SafeMultiProcessValue
