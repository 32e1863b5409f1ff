"""The multiprocess metrics store: prometheus_client's file format, and what happens when the
files cannot be written (the logic here with a simulated ENOSPC; the real full tmpfs, SIGBUS
included, in tests/e2e/test_metrics_disk.py)."""

import errno
import logging
import os

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector

from inference import metrics_storage
from inference.metrics_storage import PreallocatedMmapedDict, Storage, folder_problem, value_class


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def store(tmp_path, monkeypatch):
    """Metrics created with the safe value class, in a fresh folder and registry."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    clock = Clock()
    storage = Storage(retry_seconds=5.0, clock=clock)
    monkeypatch.setattr(values, "ValueClass", value_class(storage))
    registry = CollectorRegistry()
    counter = Counter("t_requests", "requests", ["route"], registry=registry)
    histogram = Histogram("t_latency", "latency", registry=registry, buckets=(0.1, 1.0))
    gauge = Gauge("t_in_flight", "in flight", registry=registry, multiprocess_mode="livesum")
    return storage, clock, counter, histogram, gauge, tmp_path


def scrape(folder):
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(folder))
    return generate_latest(registry).decode()


def test_files_are_read_by_prometheus_clients_collector(store):
    _, _, counter, histogram, gauge, folder = store
    for i in range(300):  # more keys than the first page holds: the file grows (allocated first)
        counter.labels(f"/route/{i}").inc(2)
    histogram.observe(0.5)
    gauge.inc()
    text = scrape(folder)
    assert 't_requests_total{route="/route/299"} 600.0' not in text  # per label, not summed over labels
    assert 't_requests_total{route="/route/299"} 2.0' in text
    assert "t_latency_count 1.0" in text and 't_latency_bucket{le="1.0"} 1.0' in text
    assert "t_in_flight 1.0" in text
    sizes = [os.path.getsize(p) for p in folder.iterdir()]
    assert max(sizes) > metrics_storage.INITIAL_SIZE


def test_a_histogram_made_before_its_file_exports_every_bucket(store):
    """The buckets no observation reached are samples too (0), +Inf included: without it PromQL's
    histogram_quantile is NaN. The histogram here is made before any histogram file exists, the
    way a worker makes its model histograms; only the bucket observed used to reach the file."""
    _, _, _, histogram, _, folder = store
    histogram.observe(0.05)
    text = scrape(folder)
    for le, count in (("0.1", 1.0), ("1.0", 1.0), ("+Inf", 1.0)):
        assert f't_latency_bucket{{le="{le}"}} {count}' in text, text


def test_a_full_disk_degrades_metrics_logs_once_and_recovers(store, monkeypatch, caplog):
    storage, clock, counter, _, _, folder = store
    counter.labels("/a").inc()
    real = os.posix_fallocate
    full = {"on": True}

    def fallocate(fd, offset, length):
        if full["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, offset, length)

    monkeypatch.setattr(metrics_storage.os, "posix_fallocate", fallocate)
    storage.files.clear()  # as a new worker would: its files are not open yet
    with caplog.at_level(logging.WARNING, logger="inference.metrics_storage"):
        for i in range(50):
            counter.labels(f"/new/{i}").inc()  # no crash, no exception
            clock.now += 0.5  # 25 s in all: several retries, all failing
        failures = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(failures) == 1 and "No space left" in failures[0].getMessage()
        assert counter.labels("/new/49")._value.get() == 1  # counted in memory meanwhile
        full["on"] = False
        clock.now += 5.0
        counter.labels("/b").inc()  # the next update retries, and writes everything held
    assert any("writable again" in r.getMessage() for r in caplog.records)
    text = scrape(folder)
    assert 't_requests_total{route="/new/49"} 1.0' in text and 't_requests_total{route="/b"} 1.0' in text
    assert 't_requests_total{route="/a"} 1.0' in text


def test_a_missing_folder_degrades_instead_of_raising(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "gone"))
    storage = Storage(clock=Clock())
    monkeypatch.setattr(values, "ValueClass", value_class(storage))
    counter = Counter("t_gone", "x", registry=CollectorRegistry())
    counter.inc()
    assert storage.failed_at is not None and counter._value.get() == 1


def test_preallocated_file_has_its_blocks(tmp_path):
    d = PreallocatedMmapedDict(str(tmp_path / "counter_1.db"))
    d.write_value("k" * 5000, 1.0, 0.0)
    d.close()
    st = os.stat(tmp_path / "counter_1.db")
    assert st.st_blocks * 512 >= st.st_size  # not sparse: no page is left for the filesystem to find later


def test_folder_problem(tmp_path):
    assert folder_problem(str(tmp_path / "new" / "sub")) is None and (tmp_path / "new" / "sub").is_dir()
    (tmp_path / "file").write_text("x")
    assert folder_problem(str(tmp_path / "file")) == "is not a folder"
    assert "cannot be used" in folder_problem(str(tmp_path / "file" / "sub"))
