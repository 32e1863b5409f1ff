"""Hostile and careless clients against a real Gunicorn: bodies over the limit however they arrive,
requests Gunicorn refuses itself (414, 431), encodings the server does not decode, huge error echoes."""

import gzip
import socket

import pytest
import requests

from inference.testing import GunicornServer

pytestmark = pytest.mark.e2e
IRIS = b'{"features": [5.1, 3.5, 1.4, 0.2]}'
LIMIT = 64 * 1024  # MAX_CONTENT_LENGTH for these servers: small, so that the tests move little data
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("hardening") / "server.log"
    with GunicornServer(model_dir, workers=1, env={"MAX_CONTENT_LENGTH": str(LIMIT)}, log_path=log) as srv:
        yield srv


def chunks(data, size=8192):
    """A body requests sends with Transfer-Encoding: chunked (it has no length)."""
    for i in range(0, len(data), size):
        yield data[i:i + size]


def assert_json_error(r, status, code):
    assert r.status_code == status, r.text[:300]
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    body = r.json()
    assert body["code"] == code and body["error"]
    assert body["request_id"] and body["request_id"] == r.headers["X-Request-ID"]
    return body


def test_chunked_body_over_the_limit_is_413_even_when_its_start_is_valid_json(server):
    """A valid JSON object, then padding and garbage past MAX_CONTENT_LENGTH: was cut at the limit,
    parsed, and answered 200 with a prediction."""
    body = IRIS + b" " * (LIMIT - len(IRIS)) + b"garbage" * 1000
    r = requests.post(server.url + "/predict", data=chunks(body), headers=JSON, timeout=30)
    assert_json_error(r, 413, "payload_too_large")


def test_chunked_body_over_the_limit_is_413_not_a_misleading_400(server):
    body = b'{"inputs": [' + b"[1.0, 2.0, 3.0], " * (LIMIT // 10) + b"[1.0, 2.0, 3.0]]}"
    r = requests.post(server.url + "/models/linear/predict", data=chunks(body), headers=JSON, timeout=30)
    assert_json_error(r, 413, "payload_too_large")


def test_chunked_body_up_to_the_limit_is_served(server):
    body = IRIS + b" " * (LIMIT - len(IRIS))  # exactly MAX_CONTENT_LENGTH bytes
    r = requests.post(server.url + "/predict", data=chunks(body), headers=JSON, timeout=30)
    assert r.status_code == 200 and r.json()["prediction"] == "setosa"


def test_chunked_v2_and_multipart_bodies_over_the_limit_are_413(server, tmp_path):
    head = b'{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}'
    r = requests.post(server.url + "/v2/models/iris-mlp/infer", data=chunks(head + b" " * LIMIT), headers=JSON,
                      timeout=30)
    assert r.status_code == 413, r.text[:300]
    boundary = "b0undary"
    part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + b"\x89PNG" + b"\0" * LIMIT
    part += f"\r\n--{boundary}--\r\n".encode()
    r = requests.post(server.url + "/models/digits-cnn/predict", data=chunks(part),
                      headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}, timeout=30)
    assert_json_error(r, 413, "payload_too_large")


def test_server_still_serves_after_refusing_big_chunked_bodies(server):
    for _ in range(3):
        requests.post(server.url + "/predict", data=chunks(IRIS + b" " * LIMIT + b"x"), headers=JSON, timeout=30)
    assert requests.post(server.url + "/predict", data=IRIS, headers=JSON, timeout=10).status_code == 200


def test_gzip_body_is_415_and_plain_json_labelled_gzip_is_not_accepted(server):
    for data in (gzip.compress(IRIS), IRIS):
        r = requests.post(server.url + "/predict", data=data, headers={**JSON, "Content-Encoding": "gzip"}, timeout=10)
        body = assert_json_error(r, 415, "unsupported_media_type")
        assert "gzip" in body["error"]


def test_414_request_line_too_long_is_json_with_a_request_id(server):
    r = requests.get(server.url + "/health?" + "a" * 9000, timeout=10)
    body = assert_json_error(r, 414, "uri_too_long")
    assert "4094" in body["error"] or "request line" in body["error"].lower()


@pytest.mark.parametrize("headers", [
    {f"X-Header-{i}": "v" for i in range(120)},  # more header fields than allowed
    {"X-Big": "a" * 9000},  # one header field over its size limit
])
def test_431_headers_too_large_is_json_with_a_request_id(server, headers):
    r = requests.get(server.url + "/health", headers=headers, timeout=10)
    assert_json_error(r, 431, "request_header_fields_too_large")


def test_malformed_request_line_is_a_json_400(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET /health HTTP/9.Z\r\nHost: x\r\n\r\n")
        raw = s.recv(65536)
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"application/json" in head and b"X-Request-ID" in head
    assert payload.startswith(b'{"error"')


def raw_exchange(server, head, body=b"", half_close=False):
    """Send ``head`` + ``body`` on a new connection; return (status line, headers, body) of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
        s.sendall(head + body)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    head_, _, payload = raw.partition(b"\r\n\r\n")
    lines = head_.decode("latin-1").split("\r\n")
    return lines[0], lines[1:], payload


POST = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize("framing", [b"zz\r\n{}\r\n0\r\n\r\n",  # a chunk size that is not hex
                                     b"2\r\n{}xx0\r\n\r\n",  # a chunk without its terminator
                                     b"ff\r\n" + IRIS + b"\r\n0\r\n\r\n"])  # shorter than its size
def test_broken_chunked_framing_is_a_400(server, framing):
    """Before: 500 internal_error with a traceback in the log (Gunicorn's chunk reader raised in the view)."""
    status, _, payload = raw_exchange(server, POST + b"Transfer-Encoding: chunked\r\n\r\n", framing,
                                            half_close=True)
    assert status.startswith("HTTP/1.1 400"), (status, payload)
    assert b'"code":"incomplete_body"' in payload
    assert requests.post(server.url + "/predict", data=IRIS, headers=JSON, timeout=10).status_code == 200


def test_a_body_shorter_than_its_content_length_is_never_answered_as_whole(server):
    """Before: a client that half-closed after 34 of 200 announced bytes got 200 with a prediction."""
    status, _, payload = raw_exchange(server, POST + b"Content-Length: 200\r\n\r\n", IRIS, half_close=True)
    assert status.startswith("HTTP/1.1 400"), (status, payload)
    assert b'"code":"incomplete_body"' in payload and b"34 of the 200 bytes" in payload


@pytest.mark.parametrize("coding, status", [(b"gzip, chunked", "501"), (b"br", "501")])
def test_transfer_codings_the_server_does_not_decode_are_501(server, coding, status):
    """Before: ``gzip, chunked`` was read as plain chunked JSON (200); ``br`` was 400."""
    body = f"{len(IRIS):x}\r\n".encode() + IRIS + b"\r\n0\r\n\r\n"
    line, _, payload = raw_exchange(server, POST + b"Transfer-Encoding: " + coding + b"\r\n\r\n", body)
    assert line.startswith("HTTP/1.1 " + status), (line, payload)
    assert b'"code":"not_implemented"' in payload


def test_an_empty_path_segment_is_a_json_404_not_a_redirect(server):
    """Before: 308 to a URL built from the client's Host header, with an HTML body."""
    for path in ("/models/iris-rf//predict", "/v2/models/iris-rf//infer", "/models/iris-rf/versions//drift"):
        r = requests.post(server.url + path, data=IRIS, headers=JSON, timeout=10, allow_redirects=False)
        assert_json_error(r, 404, "not_found")


def test_an_error_echoes_a_bounded_part_of_thousands_of_unknown_keys(server):
    """Before: every unknown key came back in details (500,000 keys: a 14 MB answer, 2.6 s of CPU)."""
    keys = ", ".join(f'"k{i}": 1' for i in range(5000))
    for path, body in (("/predict", '{"features": [5.1, 3.5, 1.4, 0.2], ' + keys + "}"),
                       ("/models/diabetes-risk/predict",
                        '{"features": {"age": 1, "bmi": 2, "bp": 3, "glucose": 4, ' + keys + "}}")):
        assert len(body) < LIMIT
        r = requests.post(server.url + path, data=body.encode(), headers=JSON, timeout=30)
        assert_json_error(r, 400, "validation_error")
        assert len(r.content) < 8192, len(r.content)


def test_clients_that_stop_mid_request_do_not_hold_the_threads(model_dir, tmp_path):
    """Before: six clients that sent half a request and went silent held every thread of the
    workers (no /health answer for 35-40 s and more). Now each is let go after
    GUNICORN_CLIENT_IDLE_TIMEOUT (here 2 s) of silence."""
    import time

    env = {"GUNICORN_CLIENT_IDLE_TIMEOUT": "2", "GUNICORN_THREADS": "2"}
    with GunicornServer(model_dir, workers=1, env=env, log_path=tmp_path / "log") as srv:
        silent = []
        try:
            for _ in range(6):
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
                s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
                silent.append(s)
            started = time.monotonic()
            r = requests.get(srv.url + "/health", timeout=25)
            assert r.status_code == 200 and time.monotonic() - started < 20
            for s in silent:
                assert s.recv(100) == b""  # closed by the server
            # a large answer to a client that reads it is not cut by the idle timeout
            rows = {"inputs": [[1.0, 2.0, 3.0]] * 10_000}
            big = requests.post(srv.url + "/models/linear/predict", json=rows, timeout=30)
            assert big.status_code == 200 and len(big.json()["predictions"]) == 10_000
        finally:
            for s in silent:
                s.close()
