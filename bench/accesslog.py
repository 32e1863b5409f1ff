"""CPU per request-log line, in-process: this server's writer against the ``logging`` module and
against Gunicorn's own access log, all writing the same request to a temporary file; and this
server's writer, buffered or not, into a pipe that another process drains (stderr under a
container runtime or systemd).

    python -m bench.accesslog [--lines 20000]

Best of 5 runs of ``time.process_time`` per line (µs). The ``logging`` variant is what the server
did before (a LogRecord, a handler, an orjson formatter, a write per line).
"""

import argparse
import datetime
import logging
import os
import subprocess
import sys
import tempfile
import time

import orjson

from inference.accesslog import AccessLog

FIELDS = {"request_id": "4e19efcf25c3d83f8f49f82d40a8aace", "method": "POST", "path": "/models/iris-mlp/predict",
          "route": "/models/<name>/predict", "model": "iris-mlp", "version": 1, "status": 200, "latency_ms": 0.629,
          "rows": 1}


class _OrjsonFormatter(logging.Formatter):
    def format(self, record):
        return orjson.dumps({"level": record.levelname, "logger": record.name, "message": record.getMessage(),
                             **record.access, "time": datetime.datetime.fromtimestamp(record.created,
                                                                                      datetime.UTC).isoformat()}).decode()


def per_line(fn, lines):
    """Best of 5: µs of this process's CPU per call of ``fn``."""
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _ in range(lines):
            fn()
        best = min(best, (time.process_time() - started) / lines)
    return best * 1e6


def gunicorn_access(stream):
    """Gunicorn's access log (its default format) on ``stream``, and a one-row prediction to log."""
    from gunicorn import glogging
    from gunicorn.config import Config

    cfg = Config()
    cfg.set("accesslog", "-")
    log = glogging.Logger(cfg)
    log.access_log.handlers[:] = []
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.access_log.addHandler(handler)

    class Response:
        status = "200 OK"
        sent = 180
        headers = [("Content-Type", "application/json"), ("Content-Length", "180"), ("X-Request-ID", "4e19efcf")]

    class Request:
        headers = [("HOST", "127.0.0.1:8000"), ("CONTENT-TYPE", "application/json"), ("CONTENT-LENGTH", "35")]

    environ = {"REQUEST_METHOD": "POST", "RAW_URI": "/models/iris-mlp/predict", "SERVER_PROTOCOL": "HTTP/1.1",
               "PATH_INFO": "/models/iris-mlp/predict", "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1",
               "HTTP_HOST": "127.0.0.1:8000", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "35"}
    took = datetime.timedelta(microseconds=629)
    return lambda: log.access(Response, Request, environ, took)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryFile() as out:
        stream = open(out.fileno(), "w", closefd=False)
        handler = logging.StreamHandler(stream)
        handler.setFormatter(_OrjsonFormatter())
        logger = logging.getLogger("bench.accesslog")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        writer = AccessLog(out.fileno(), interval=1.0)
        unbuffered = AccessLog(out.fileno(), interval=0)
        rows = [("logging module + orjson formatter (the server before)",
                 per_line(lambda: logger.info("request", extra={"access": FIELDS}), args.lines)),
                ("inference.accesslog, buffered (the default)", per_line(lambda: writer.write(FIELDS), args.lines)),
                ("inference.accesslog, a write per line (ACCESS_LOG_FLUSH_SECONDS=0)",
                 per_line(lambda: unbuffered.write(FIELDS), args.lines)),
                ("Gunicorn's own access log (--access-logfile, default format)",
                 per_line(gunicorn_access(stream), args.lines))]
        writer.close()
        unbuffered.close()
    read, write = os.pipe()
    drain = subprocess.Popen([sys.executable, "-c", "import sys; [None for _ in iter(lambda: sys.stdin.buffer.read("
                              "65536), b'')]"], stdin=read)
    os.close(read)
    try:
        for label, interval in (("into a pipe, buffered (the default)", 1.0),
                                ("into a pipe, a write per line (ACCESS_LOG_FLUSH_SECONDS=0)", 0)):
            piped = AccessLog(write, interval=interval)
            rows.append((f"inference.accesslog, {label}", per_line(lambda w=piped: w.write(FIELDS), args.lines)))
            piped.close()
    finally:
        os.close(write)
        drain.wait(30)
    for label, us in rows:
        print(f"{us:6.1f} µs per line  {label}")


if __name__ == "__main__":
    main()
