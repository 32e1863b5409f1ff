"""The request log's writer: JSON lines, buffered, written on size, on age, by its flusher and at exit."""

import os
import subprocess
import sys
import time

import orjson

from inference.accesslog import AccessLog

FIELDS = {"request_id": "r-1", "method": "POST", "path": "/predict", "route": "/predict", "model": "iris-rf",
          "version": 1, "status": 200, "latency_ms": 0.5, "rows": 1}


def _lines(path):
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _writer(tmp_path, **kwargs):
    path = tmp_path / "access.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    return AccessLog(fd, **kwargs), path, fd


def test_a_line_is_the_fields_between_level_logger_message_and_time(tmp_path):
    log, path, fd = _writer(tmp_path, interval=0)
    try:
        log.write(FIELDS)
        (line,) = _lines(path)
        assert list(line) == ["level", "logger", "message", *FIELDS, "time"]
        assert line["level"] == "INFO" and line["logger"] == "inference.access" and line["message"] == "request"
        assert {k: line[k] for k in FIELDS} == FIELDS and line["time"].endswith("+00:00")
    finally:
        log.close()
        os.close(fd)


def test_lines_wait_in_the_buffer_until_it_is_full_or_flushed(tmp_path):
    log, path, fd = _writer(tmp_path, interval=3600, max_bytes=4096)
    try:
        log.write(FIELDS)
        assert path.read_bytes() == b""  # buffered
        n = 1
        while path.read_bytes() == b"":
            log.write({**FIELDS, "request_id": f"r-{n}"})
            n += 1
            assert n < 100
        written = _lines(path)
        assert 4096 <= len(path.read_bytes()) < 4096 + 400 and len(written) == n
        log.write({**FIELDS, "request_id": "last"})
        log.flush()
        assert [line["request_id"] for line in _lines(path)][-2:] == [f"r-{n - 1}", "last"]
    finally:
        log.close()
        os.close(fd)


def test_the_flusher_writes_an_idle_buffer_within_the_interval(tmp_path):
    log, path, fd = _writer(tmp_path, interval=0.05)
    try:
        log.write(FIELDS)
        deadline = time.monotonic() + 10
        while not path.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(_lines(path)) == 1
    finally:
        log.close()
        os.close(fd)


def test_buffered_lines_are_written_when_the_process_exits(tmp_path):
    path = tmp_path / "exit.jsonl"
    code = ("import os, sys; from inference.accesslog import AccessLog; "
            f"fd = os.open({str(path)!r}, os.O_WRONLY | os.O_CREAT); log = AccessLog(fd, interval=3600); "
            "[log.write({'request_id': str(i)}) for i in range(500)]; "
            "print(os.fstat(fd).st_size); sys.exit(0)")
    out = subprocess.run([sys.executable, "-c", code], check=True, timeout=60, capture_output=True, text=True)
    assert out.stdout.split() == ["0"]  # nothing written before the exit
    assert [line["request_id"] for line in _lines(path)] == [str(i) for i in range(500)]


def test_a_forked_child_starts_with_an_empty_buffer(tmp_path):
    log, path, fd = _writer(tmp_path, interval=3600)
    try:
        log.write({**FIELDS, "request_id": "parent"})
        pid = os.fork()
        if pid == 0:  # the child writes only its own line, at exit
            log.write({**FIELDS, "request_id": "child"})
            log.flush()
            os._exit(0)
        os.waitpid(pid, 0)
        log.flush()
        assert sorted(line["request_id"] for line in _lines(path)) == ["child", "parent"]
    finally:
        log.close()
        os.close(fd)


def test_each_write_holds_whole_lines_within_the_pipe_atomic_size(tmp_path, monkeypatch):
    """Workers share stderr; on a pipe only writes up to PIPE_BUF are never split by another's."""
    import select

    import inference.accesslog as accesslog

    writes = []
    real_write = os.write
    monkeypatch.setattr(accesslog.os, "write", lambda fd, data: writes.append(bytes(data)) or real_write(fd, data))
    log, path, fd = _writer(tmp_path, interval=3600, max_bytes=64 * 1024)
    try:
        for n in range(400):
            log.write({**FIELDS, "request_id": f"r-{n}"})
        log.flush()
        assert len(_lines(path)) == 400
        assert len(writes) > 1 and all(len(w) <= select.PIPE_BUF and w.endswith(b"\n") for w in writes)
    finally:
        log.close()
        os.close(fd)
