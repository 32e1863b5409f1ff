"""The worker's answers for requests Gunicorn refuses itself (status, JSON body, request id), and its
client sockets (idle timeout, one write per answer)."""

import os
import socket
import time
from types import SimpleNamespace
from unittest.mock import Mock

import orjson
import pytest
from gunicorn.http import errors as http
from gunicorn.workers.gthread import ThreadWorker

from inference.balance import Balancer, Shares
from inference.worker import (
    GATHER_LIMIT,
    ClientStalled,
    IdleTimeoutSocket,
    JsonThreadWorker,
    error_bytes,
    error_message,
    status_for,
)


@pytest.mark.parametrize("exc, status", [
    (http.LimitRequestLine(9000, 4094), 414),
    (http.LimitRequestHeaders("limit request headers fields"), 431),
    (http.InvalidHTTPVersion("9.Z"), 400),
    (http.InvalidRequestMethod("G@T"), 400),
    (http.UnsupportedTransferCoding("br"), 501),
    (http.InvalidHeader("Unsupported Transfer-Encoding"), 501),  # the C parser's way of saying it
    (http.InvalidHeader("TRANSFER-ENCODING"), 400),  # stacked or misplaced chunked: malformed
    (http.InvalidResponseHeader("X-Bad"), 500),  # the app's fault
    (ValueError("a bug"), 500),
])
def test_status_matches_gunicorns_own(exc, status):
    assert status_for(exc) == status


def test_error_bytes_are_an_http_response_with_the_json_error_body():
    raw = error_bytes(414, error_message(414, http.LimitRequestLine(9000, 4094)), "abc123")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 414 Request-URI Too Long"
    assert "Content-Type: application/json" in lines and "X-Request-ID: abc123" in lines
    assert f"Content-Length: {len(body)}" in lines
    error = orjson.loads(body)
    assert error["code"] == "uri_too_long" and error["request_id"] == "abc123"
    assert "GUNICORN_LIMIT_REQUEST_LINE" in error["error"] and "4094" in error["error"]


def test_a_500_says_nothing_about_its_cause():
    assert error_message(500, ValueError("secret detail")) == "internal server error"


@pytest.fixture
def pair():
    """A connected socket pair: the server's end as an IdleTimeoutSocket (0.3 s idle timeout), the client's."""
    server, client = socket.socketpair()
    server = IdleTimeoutSocket.adopt(server, 0.3)
    client.setblocking(False)
    yield server, client
    server.close()
    client.close()


def pending(sock):
    """The bytes waiting on ``sock`` right now (b"" when none)."""
    try:
        return sock.recv(65536)
    except BlockingIOError:
        return b""


@pytest.fixture
def writes(monkeypatch):
    """Every ``send`` system call made through Python's sockets meanwhile, as the bytes it sent."""
    sent = []
    send = socket.socket.send

    def counting(self, data, *args):
        sent.append(bytes(data))
        return send(self, data, *args)

    monkeypatch.setattr(socket.socket, "send", counting)
    return sent


def test_an_answers_headers_and_body_go_out_in_one_write(pair, writes):
    server, client = pair
    server.gather()
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
    assert pending(client) == b""  # the headers wait for the body
    server.sendall(b"{}")
    assert writes == [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"]
    assert pending(client) == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    server.flush()
    server.sendall(b"after")  # no longer gathering: sent at once
    assert pending(client) == b"after"


def test_a_streamed_answers_chunks_after_the_first_leave_as_they_come(pair, writes):
    server, client = pair
    server.gather()
    server.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    server.sendall(b"4\r\ntick\r\n")
    server.sendall(b"4\r\ntock\r\n")  # not held until the stream ends
    assert pending(client).endswith(b"tick\r\n4\r\ntock\r\n")
    assert len(writes) == 2


def received(client, size, timeout=2.0):
    """What ``client`` receives within ``timeout`` seconds, up to ``size`` bytes."""
    client.settimeout(timeout)
    got = b""
    try:
        while len(got) < size:
            chunk = client.recv(size - len(got))
            if not chunk:
                break
            got += chunk
    except TimeoutError:
        pass
    return got


def test_a_file_sent_with_sendfile_follows_the_held_headers(pair, tmp_path):
    server, client = pair
    body = tmp_path / "asset.css"
    body.write_bytes(b"body { margin: 0 }")
    server.gather()
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\n")
    with open(body, "rb") as fh:
        server.sendfile(fh)
    expected = b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\nbody { margin: 0 }"
    assert received(client, len(expected)) == expected


def test_a_shutdown_sends_what_is_held_first(pair):
    # Gunicorn's graceful close after an app error shuts the write side first: a HEAD answer's
    # held headers (its whole answer) never left
    server, client = pair
    server.gather()
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    server.shutdown(socket.SHUT_WR)
    assert received(client, 100) == b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"  # then the end


def test_a_read_sends_what_is_held_first(pair):
    server, client = pair
    server.gather()
    server.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    client.sendall(b"body")
    assert server.recv(10) == b"body"
    assert pending(client) == b"HTTP/1.1 100 Continue\r\n\r\n"


def test_a_plain_send_follows_what_is_held(pair):
    server, client = pair
    server.gather()
    server.sendall(b"first ")
    server.send(b"second")
    assert pending(client) == b"first second"


def test_a_large_answer_is_not_held_whole(pair):
    server, client = pair
    server.gather()
    server.sendall(b"x" * (GATHER_LIMIT + 1))
    assert len(pending(client)) > 0


def test_a_silent_client_ends_a_read_like_a_hang_up_after_the_idle_timeout(pair):
    server, _ = pair
    started = time.monotonic()
    assert server.recv(10) == b""
    assert 0.2 < time.monotonic() - started < 2


def test_a_client_that_takes_nothing_times_the_write_out(pair):
    server, _ = pair
    with pytest.raises(TimeoutError):
        server.sendall(b"x" * 50_000_000)  # more than the socket buffers hold; the client never reads


def test_a_non_blocking_read_with_nothing_to_read_still_says_so(pair):
    server, _ = pair
    server.setblocking(False)
    with pytest.raises(BlockingIOError):
        server.recv(10)


def test_a_client_that_takes_none_of_its_answer_is_dropped_with_one_info_line(pair, monkeypatch):
    server, client = pair
    worker = JsonThreadWorker.__new__(JsonThreadWorker)  # only handle_request's own part is under test
    worker.log = Mock()

    def stalls(self, req, conn):
        conn.sock.sendall(b"HTTP/1.1 200 OK\r\n\r\n")  # held
        raise ClientStalled("the client took nothing for 0.3 s")

    monkeypatch.setattr(ThreadWorker, "handle_request", stalls)
    conn = SimpleNamespace(sock=server)
    assert worker.handle_request(SimpleNamespace(method="POST", path="/predict"), conn) is False  # closed
    worker.log.info.assert_called_once()
    assert "0.3 s" in worker.log.info.call_args.args[1].args[0]
    worker.log.exception.assert_not_called()  # Gunicorn logged a traceback for this ordinary case
    assert server.held is None and pending(client) == b""  # nothing more tried on that client


def test_a_client_that_takes_none_of_a_bodiless_answer_is_dropped_the_same_way(pair, monkeypatch):
    # HEAD, 204, 304: the held headers leave only when the request ends, and that write can stall too
    server, client = pair
    worker = JsonThreadWorker.__new__(JsonThreadWorker)
    worker.log = Mock()

    def headers_only(self, req, conn):
        conn.sock.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")  # held until the request ends
        return True

    monkeypatch.setattr(ThreadWorker, "handle_request", headers_only)
    monkeypatch.setattr(IdleTimeoutSocket, "_send_all", Mock(side_effect=ClientStalled("took nothing")))
    assert worker.handle_request(SimpleNamespace(method="HEAD", path="/health"), SimpleNamespace(sock=server)) is False
    worker.log.info.assert_called_once()
    assert server.held is None


def test_a_worker_joins_the_balancing_once_its_models_are_loaded():
    # counted while loading, it looked the least busy worker, and its siblings sent it new
    # connections whose predictions waited for the load (and /openapi.json listed no model yet)
    registry = SimpleNamespace(loading=True)
    worker = JsonThreadWorker.__new__(JsonThreadWorker)
    worker.alive, worker.nr_conns, worker.max_connections, worker.sockets = True, 0, 256, []
    worker.wsgi = SimpleNamespace(extensions={"dataplane": SimpleNamespace(registry=registry)})
    shares = Shares(slots=4)
    worker.balancer = Balancer(shares, slack=4, alive=lambda pid: True)
    assert worker.worker_connections == 256
    assert worker.balancer.slot is None and not shares.pids.any()  # siblings see no idle worker
    registry.loading = False
    assert worker.worker_connections == 256
    assert shares.pids[worker.balancer.slot] == os.getpid()
