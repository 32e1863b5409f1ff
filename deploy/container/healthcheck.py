"""Container health check: exit 0 when this container's server answers ``GET /health`` with 200."""

import os
import sys
import urllib.request

WILDCARDS = ("", "0.0.0.0", "[::]", "::")


def health_url(environ):
    """The /health URL of the address Gunicorn binds, as gunicorn.conf.py computes it."""
    bind = environ.get("GUNICORN_BIND") or f"127.0.0.1:{environ.get('PORT') or 8000}"
    host, _, port = bind.split(",")[0].strip().rpartition(":")
    host = "127.0.0.1" if host in WILDCARDS else host
    return f"http://{host}:{port}/health"


def main():
    """Probe once; the container runtime retries."""
    try:
        with urllib.request.urlopen(health_url(os.environ), timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"health check failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
