"""The worker's answers for requests Gunicorn refuses itself: status, JSON body, request id."""

import orjson
import pytest
from gunicorn.http import errors as http

from inference.worker import error_bytes, error_message, status_for


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
