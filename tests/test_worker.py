"""The worker's answers for requests Gunicorn refuses itself (status, JSON body, request id), and its
client sockets (idle timeout, one write per answer)."""

import socket
import time

import orjson
import pytest
from gunicorn.http import errors as http

from inference.worker import GATHER_LIMIT, IdleTimeoutSocket, error_bytes, error_message, status_for


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


def test_an_answers_headers_and_body_go_out_in_one_write(pair):
    server, client = pair
    server.gather()
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
    server.sendall(b"{}")
    assert pending(client) == b""  # held, not sent in two pieces
    server.flush()
    assert pending(client) == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    server.sendall(b"after")  # no longer gathering: sent at once
    assert pending(client) == b"after"


def test_a_read_sends_what_is_held_first(pair):
    server, client = pair
    server.gather()
    server.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    client.sendall(b"body")
    assert server.recv(10) == b"body"
    assert pending(client) == b"HTTP/1.1 100 Continue\r\n\r\n"


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
