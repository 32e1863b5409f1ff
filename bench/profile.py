"""Profile the request path in-process with pyinstrument: the WSGI app called directly with a
prepared request (no network, no test client), so the numbers are the app's own CPU per request.

    python -m bench.profile [--model iris-mlp] [--requests 5000] [--html out.html]

Prints microseconds of CPU per request (``time.process_time``: this process's CPU, all its threads,
so other load on the machine does not inflate it; timed without the profiler), then where they
go: routing, hooks (request id, metrics, access log), JSON, validation, the model, serialisation.
The access log goes to a temporary file meanwhile, as it would to a file or a pipe in production,
not to the terminal.
"""

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time

from pyinstrument import Profiler

from inference import accesslog

ROWS = {"iris-mlp": [5.1, 3.5, 1.4, 0.2], "iris-rf": [5.1, 3.5, 1.4, 0.2], "diabetes-risk": [48, 26.5, 94, 99],
        "linear": [1.0, 2.0, 3.0]}


def make_environ(path, body):
    """A WSGI environ for ``POST path`` with a JSON body."""
    return {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json", "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0)}


def run(app, path, body, n):
    """Call the app ``n`` times; return seconds of this process's CPU per request."""
    def start_response(status, headers, exc_info=None):
        if not status.startswith("200"):
            raise RuntimeError(status)

    started = time.process_time()
    for _ in range(n):
        b"".join(app(make_environ(path, body), start_response))
    return (time.process_time() - started) / n


@contextlib.contextmanager
def stderr_to_file():
    """Point file descriptor 2 (where the access log writes) at a temporary file; yield its path."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.NamedTemporaryFile(prefix="profile-log-", suffix=".jsonl") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield log.name
        finally:
            accesslog.flush_all()  # its buffered lines belong in the file, not on the terminal later
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="iris-mlp", choices=sorted(ROWS))
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "artifacts"))
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = parser.parse_args(argv)
    from app import create_app

    app = create_app({"MODEL_DIR": args.model_dir, "LOAD_IN_BACKGROUND": False})
    body = json.dumps({"features": ROWS[args.model]}).encode()
    path = f"/models/{args.model}/predict"
    with stderr_to_file():
        run(app, path, body, 300)  # warm up
        per_request = min(run(app, path, body, args.requests) for _ in range(3))
        profiler = Profiler(interval=0.0001)
        profiler.start()
        run(app, path, body, args.requests)
        profiler.stop()
    print(profiler.output_text(unicode=False, color=False))
    print(f"{per_request * 1e6:.1f} µs of CPU per request in the app ({args.model}, one row; best of 3 x "
          f"{args.requests}, no profiler)")
    if args.html:
        with open(args.html, "w") as fh:
            fh.write(profiler.output_html())


if __name__ == "__main__":
    main()
