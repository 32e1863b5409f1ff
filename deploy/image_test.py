"""``make image-test``: two containers of the image as two replicas behind nginx, one stopped under load.

Prints the image size, the time from ``podman run`` (and from ``podman start``) to /ready, and the
failed requests while one replica stops and starts again (goal 0); removes every container it
started. Replica A runs the image's own models on a read-only root filesystem; replica B reads
the host's model repository from a read-only mount (MODEL_DIR=/models).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from deploy.failover import predictions_served, stop_and_restart_under_load
from deploy.nginx_conf import Nginx
from inference.testing import ROOT, free_port

PODMAN = ["podman", "--runtime", "runc", "--storage-driver", "vfs"]
CONTAINERS_CONF = ROOT / "deploy" / "podman" / "containers.conf"


def podman(*args, check=True, timeout=120):
    """Run podman with the settings that work on these machines; return its stdout."""
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    result = subprocess.run([*PODMAN, *args], capture_output=True, text=True, env=env, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def wait_ready(url, timeout=120):
    """Seconds until ``url``/ready answers 200."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if requests.get(url + "/ready", timeout=2).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout}s")


class Replica:
    """One container of the image on its own loopback port (host network)."""

    def __init__(self, image, name, port, extra_args=()):
        self.image, self.name, self.port = image, name, port
        self.url = f"http://127.0.0.1:{port}"
        self.extra_args = list(extra_args)

    def run(self):
        """Create and start the container; return seconds until /ready."""
        started = time.monotonic()
        podman("run", "-d", "--name", self.name, "--network", "host",
               "-e", f"GUNICORN_BIND=127.0.0.1:{self.port}", "-e", "WEB_CONCURRENCY=1", "-e", "GUNICORN_THREADS=4",
               "-e", "ACCESS_LOG=0", *self.extra_args, self.image)
        wait_ready(self.url)
        return time.monotonic() - started

    def stop(self):
        """SIGTERM to Gunicorn (PID 1), up to 30 s to finish in-flight requests."""
        podman("stop", "-t", "30", self.name, timeout=60)

    def start(self):
        """Start the stopped container again; return seconds until /ready."""
        started = time.monotonic()
        podman("start", self.name)
        wait_ready(self.url)
        return time.monotonic() - started

    def exit_code(self):
        return int(podman("inspect", "--format", "{{.State.ExitCode}}", self.name))

    def remove(self):
        podman("rm", "-f", "-t", "5", self.name, check=False)


def image_size(image):
    """The image's size in bytes as podman reports it."""
    return int(podman("image", "inspect", "--format", "{{.Size}}", image))


def run(image, model_dir, settle=2.0):
    """The whole scenario; returns the measurements as a dict (``ok`` says whether the goal was met)."""
    tag = f"inference-image-test-{os.getpid()}"
    a = Replica(image, f"{tag}-a", free_port(), ["--read-only", "--tmpfs", "/tmp"])
    b = Replica(image, f"{tag}-b", free_port(),
                ["--read-only", "--tmpfs", "/tmp", "-v", f"{Path(model_dir).resolve()}:/models:ro",
                 "-e", "MODEL_DIR=/models"])
    report = {"image": image, "image_size_bytes": image_size(image)}
    proxy = None
    try:
        report["run_to_ready_s"] = {"a": round(a.run(), 2), "b": round(b.run(), 2)}
        podman("healthcheck", "run", a.name)  # the image's HEALTHCHECK passes (raises if not)
        report["healthcheck"] = "healthy"
        proxy = Nginx(tempfile.mkdtemp(prefix="inference-nginx-"), [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"],
                      free_port(), rate="100000r/s", burst="100000").start()
        timings = {}

        def start_a():
            timings["start_to_ready_s"] = a.start()

        def stop_a():
            a.stop()
            timings["exit_code"] = a.exit_code()

        result, phases = stop_and_restart_under_load(
            proxy.url + "/predict", stop_replica=stop_a, start_replica=start_a,
            back_in_rotation=lambda: predictions_served(requests.get(a.url + "/metrics", timeout=5).text) > 0,
            settle=settle, clients=4)
        report.update({
            "requests": result.total, "failed": result.failed, "failures": [str(f) for f in result.failures[:10]],
            "load_seconds": round(result.seconds, 1), "statuses": {str(k): v for k, v in result.statuses.items()},
            "stop_s": round(phases["stop_s"], 2), "a_exit_code": timings["exit_code"],
            "start_to_ready_s": round(timings["start_to_ready_s"], 2), "rejoin_s": round(phases["rejoin_s"], 2),
            "served_by_b": predictions_served(requests.get(b.url + "/metrics", timeout=5).text),
            "served_by_a_after_restart": predictions_served(requests.get(a.url + "/metrics", timeout=5).text),
        })
        report["ok"] = (result.failed == 0 and timings["exit_code"] == 0 and report["served_by_b"] > 0
                        and report["served_by_a_after_restart"] > 0)
    finally:
        if proxy:
            proxy.stop()
        a.remove()
        b.remove()
    return report


def main(argv=None):
    """Run the scenario, print and save the report; exit 1 unless no request failed."""
    parser = argparse.ArgumentParser(prog="python -m deploy.image_test", description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--model-dir", default="artifacts", help="mounted read-only into replica B")
    parser.add_argument("--json", default=None, help="also write the report here")
    args = parser.parse_args(argv)
    report = run(args.image, args.model_dir)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    print(f"image {report['image_size_bytes'] / 1e9:.2f} GB; podman run to ready {report['run_to_ready_s']} s; "
          f"restart to ready {report['start_to_ready_s']} s; {report['failed']} of {report['requests']} "
          f"requests failed while a replica stopped and started (goal 0)")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
