"""Render the nginx configuration (deploy/nginx/*.conf, knobs as {{NAME}}) and run nginx from a private prefix.

``python -m deploy.nginx_conf --upstream 10.0.0.5:8000 --upstream 10.0.0.6:8000`` prints
inference.conf for a Debian host's /etc/nginx/conf.d/; ``--prefix DIR`` writes a self-contained
nginx.conf + inference.conf that ``nginx -p DIR -c DIR/nginx.conf`` runs as any user.
"""

import argparse
import grp
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

TEMPLATES = Path(__file__).resolve().parent / "nginx"
PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
# The user nginx's workers switch to when the master starts as root.
WORKER_USER = "nobody"

# Knob -> (default, meaning). CLIENT_MAX_BODY_SIZE is the app's MAX_CONTENT_LENGTH (8 MiB).
KNOBS = {
    "LISTEN": ("80", "listen address: a port, or address:port"),
    "UPSTREAM_SERVERS": (None, "the replicas (from --upstream host:port, repeated)"),
    "FAIL_TIMEOUT": ("2s", "how long a replica whose connection failed is skipped"),
    "CLIENT_MAX_BODY_SIZE": (str(8 * 1024 * 1024), "largest request body in bytes: the app's MAX_CONTENT_LENGTH"),
    "RATE": ("200r/s", "requests per second per client address (limit_req)"),
    "BURST": ("400", "requests a client may send above RATE before 429"),
    "CLIENT_HEADER_TIMEOUT": ("10s", "time for a client to send its request headers"),
    "CLIENT_BODY_TIMEOUT": ("10s", "longest pause between two reads of a request body"),
    "SEND_TIMEOUT": ("10s", "longest pause between two writes of a response"),
    "KEEPALIVE_TIMEOUT": ("15s", "idle seconds a client connection stays open"),
    "PROXY_CONNECT_TIMEOUT": ("2s", "time to connect to a replica before trying the next"),
    "PROXY_READ_TIMEOUT": ("60s", "time a replica may take to answer (keep above the slowest model)"),
    "ACCESS_LOG": ("/var/log/nginx/inference-access.log inference_json", "access log path and format, or off"),
    # nginx.conf (the self-contained main configuration) only:
    "WORKER_PROCESSES": ("auto", "nginx worker processes"),
    "WORKER_CONNECTIONS": ("4096", "connections per nginx worker (idle and slow clients included)"),
    "ERROR_LOG_LEVEL": ("warn", "error log level"),
    "USER_DIRECTIVE": ("", "a 'user' line for the workers when the master runs as root"),
}


def defaults():
    """Every knob with a default, at its default."""
    return {name: default for name, (default, _) in KNOBS.items() if default is not None}


def upstream_servers(servers, fail_timeout="2s"):
    """The lines of the upstream block for ``servers`` (host:port strings)."""
    if not servers:
        raise ValueError("at least one upstream server (host:port) is needed")
    return "\n".join(f"    server {s} max_fails=1 fail_timeout={fail_timeout};" for s in servers)


def render(template, knobs):
    """Fill every {{NAME}} in ``template`` from ``knobs``; a missing knob is an error, not an empty string."""
    missing = sorted({name for name in PLACEHOLDER.findall(template) if name not in knobs})
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: str(knobs[m.group(1)]), template)


def knobs_for(upstreams, **overrides):
    """The defaults, the upstream block and ``overrides`` (knob names, any case)."""
    knobs = defaults()
    knobs.update({k.upper(): v for k, v in overrides.items()})
    knobs["UPSTREAM_SERVERS"] = upstream_servers(upstreams, knobs["FAIL_TIMEOUT"])
    return knobs


def write_prefix(prefix, upstreams, **overrides):
    """Write nginx.conf and inference.conf under ``prefix``, with its logs/ and tmp/; return nginx.conf's path."""
    prefix = Path(prefix)
    overrides.setdefault("access_log", "logs/access.log inference_json")
    if os.geteuid() == 0:  # workers drop root: give them the buffers' folders
        group = grp.getgrgid(pwd.getpwnam(WORKER_USER).pw_gid).gr_name
        overrides.setdefault("user_directive", f"user {WORKER_USER} {group};")
    knobs = knobs_for(upstreams, **overrides)
    for sub in ("logs", *(f"tmp/{d}" for d in TEMP_DIRS)):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        worker = pwd.getpwnam(WORKER_USER)
        for d in TEMP_DIRS:
            os.chown(prefix / "tmp" / d, worker.pw_uid, worker.pw_gid)
    for name in ("nginx.conf", "inference.conf"):
        (prefix / name).write_text(render((TEMPLATES / name).read_text(), knobs))
    return prefix / "nginx.conf"


class Nginx:
    """nginx from a private prefix on a loopback port, started in the foreground and stopped by its PID."""

    def __init__(self, prefix, upstreams, port, **knobs):
        self.prefix = Path(prefix)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.conf = write_prefix(self.prefix, upstreams, listen=f"127.0.0.1:{port}", **knobs)
        self.proc = None

    def command(self):
        """The nginx command line for this prefix."""
        return [nginx_binary(), "-p", str(self.prefix), "-c", str(self.conf), "-g", "daemon off;"]

    def start(self, timeout=10):
        """Check the configuration, start nginx and wait until it accepts connections."""
        subprocess.run([*self.command()[:-2], "-t", "-q"], check=True, capture_output=True)
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode(errors='replace')}")
            try:
                requests.get(self.url + "/health", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"nginx did not listen on {self.url} within {timeout}s")

    def error_log(self):
        """nginx's error log so far."""
        path = self.prefix / "logs" / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, timeout=10):
        """SIGQUIT (graceful), then SIGKILL past ``timeout``; the workers exit with their master."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def nginx_binary():
    """The nginx executable (Debian installs it in /usr/sbin, which a user's PATH may lack)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise FileNotFoundError("nginx is not installed (apt-get install nginx)")
    return found


def main(argv=None):
    """Print inference.conf, or write a self-contained prefix with --prefix."""
    parser = argparse.ArgumentParser(prog="python -m deploy.nginx_conf", description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", action="append", required=True, metavar="HOST:PORT", help="a replica (repeat)")
    parser.add_argument("--prefix", help="write nginx.conf, inference.conf, logs/ and tmp/ here")
    for name, (default, meaning) in KNOBS.items():
        if name != "UPSTREAM_SERVERS":
            parser.add_argument(f"--{name.lower().replace('_', '-')}", dest=name.lower(),
                                help=f"{meaning} (default: {default!r})")
    args = {k: v for k, v in vars(parser.parse_args(argv)).items() if v is not None}
    upstreams, prefix = args.pop("upstream"), args.pop("prefix", None)
    if prefix:
        print(write_prefix(prefix, upstreams, **args))
    else:
        sys.stdout.write(render((TEMPLATES / "inference.conf").read_text(), knobs_for(upstreams, **args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
