"""The metrics folder on a full, missing, read-only or wrong path, under a real Gunicorn.

Before: on a full filesystem every worker died of SIGBUS on its first metric update, over and
over, and predictions failed; a bad PROMETHEUS_MULTIPROC_DIR stopped the master with a traceback.
The full disk is a real tmpfs of 1 MiB mounted by the test (root is needed; without it the test
is skipped and says so), so the real mmap path is exercised.
"""

import os
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from inference.testing import ROOT, GunicornServer

pytestmark = pytest.mark.e2e
IRIS = {"features": [5.1, 3.5, 1.4, 0.2]}
LINEAR = {"features": [1.0, 2.0, 3.0]}


@contextmanager
def tmpfs(path, options="size=64k"):
    """A tmpfs mounted at ``path`` for the block; unmounted after it."""
    path.mkdir(exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); these tests need root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder):
    """Write a file until the filesystem is full; return its path."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\1" * 4096):
            pass
    except OSError:  # ENOSPC: full
        pass
    finally:
        os.close(fd)
    return filler


def requests_total(url, route):
    text = requests.get(url + "/metrics", timeout=10).text
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "inference_requests_total" and s.labels["route"] == route and s.labels["status"] == "200")


def test_full_metrics_disk_degrades_metrics_not_predictions(model_dir, tmp_path):
    log = tmp_path / "log"
    with tmpfs(tmp_path / "metrics", options="size=1m") as folder:  # room for two workers' files once freed
        filler = fill(folder)
        srv = GunicornServer(model_dir, workers=2, env={"PROMETHEUS_MULTIPROC_DIR": str(folder)}, log_path=log)
        try:
            srv.start(timeout=60)
            pids = set(srv.worker_pids())
            with requests.Session() as s:
                codes = [s.post(srv.url + "/predict", json=IRIS, timeout=10).status_code for _ in range(100)]
                codes += [s.post(srv.url + "/models/linear/predict", json=LINEAR, timeout=10).status_code
                          for _ in range(100)]
            assert codes == [200] * 200
            time.sleep(1)
            assert set(srv.worker_pids()) == pids  # no worker died
            text = log.read_text()
            assert "SIGBUS" not in text
            assert text.count("metrics cannot be written") == 2, text[-3000:]  # once per worker
            filler.unlink()  # space returns
            time.sleep(5.5)  # the workers retry every 5 s, on their next metric update
            sent = 100
            deadline = time.monotonic() + 30  # both workers update a metric, so both retry
            while time.monotonic() < deadline and log.read_text().count("writable again") < 2:
                assert requests.post(srv.url + "/predict", json=IRIS, timeout=10).status_code == 200
                sent += 1
                time.sleep(0.05)
            assert log.read_text().count("writable again") == 2
            assert requests_total(srv.url, "/predict") == sent  # nothing counted meanwhile was lost
            assert log.read_text().count("metrics cannot be written") == 2  # space stayed
        finally:
            srv.stop()


def start_master(env_folder, tmp_path, model_dir):
    """Run ``gunicorn -c gunicorn.conf.py wsgi:app`` until it exits or 20 s pass; (returncode, stderr)."""
    env = {**os.environ, "MODEL_DIR": str(model_dir), "PROMETHEUS_MULTIPROC_DIR": str(env_folder),
           "GUNICORN_BIND": "127.0.0.1:0", "WEB_CONCURRENCY": "1"}
    run = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=20)
    return run.returncode, run.stderr


@pytest.mark.parametrize("kind", ["file", "read-only"])
def test_unusable_metrics_folder_is_a_one_line_error(model_dir, tmp_path, kind):
    if kind == "file":
        target = tmp_path / "metrics"
        target.write_text("not a folder")
        code, err = start_master(target, tmp_path, model_dir)
    else:
        with tmpfs(tmp_path / "ro", options="size=64k,ro") as target:
            code, err = start_master(target, tmp_path, model_dir)
    assert code != 0
    assert "Traceback" not in err, err[-2000:]
    lines = [line for line in err.splitlines() if "PROMETHEUS_MULTIPROC_DIR" in line]
    assert len(lines) == 1 and str(target) in lines[0], err[-2000:]


def test_missing_metrics_folder_is_created(model_dir, tmp_path):
    folder = tmp_path / "not" / "yet"
    with GunicornServer(model_dir, workers=1, env={"PROMETHEUS_MULTIPROC_DIR": str(folder)},
                        log_path=tmp_path / "log") as srv:
        assert requests.post(srv.url + "/predict", json=IRIS, timeout=10).status_code == 200
        assert requests_total(srv.url, "/predict") == 1
    assert folder.is_dir()
