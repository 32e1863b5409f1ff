"""The lean keep-alive client against local servers whose behaviour is known."""

import shutil
import socket
import subprocess
import threading
import time

import pytest

from loadtest.client import Connection, ConnectionError, InvalidResponse, ReadTimeout
from loadtest.runner import closed_loop, send_one
from loadtest.stats import summarize
from loadtest.target import build_target
from tests.loadtest.fakeserver import Behaviour, FakeServer


def test_keep_alive_reuses_one_connection():
    behaviour = Behaviour()
    with FakeServer(behaviour) as srv:
        target = build_target(srv.url, json_body='{"x": 1}')
        with target.connect() as connection:
            statuses = [target.send(connection) for _ in range(25)]
    assert statuses == [200] * 25
    assert connection.opened == 1 and behaviour.connections == 1 and behaviour.count == 25


def test_request_bytes_carry_method_headers_and_body():
    behaviour = Behaviour()
    with FakeServer(behaviour) as srv:
        target = build_target(srv.url + "?v=2", json_body='{"features": [1, 2]}', headers=["X-Trace: abc"],
                              api_key="k")
        with target.connect() as connection:
            assert target.send(connection) == 200
    headers = behaviour.last_headers
    assert behaviour.last_body == b'{"features":[1,2]}'
    assert headers["Content-Type"] == "application/json" and headers["Content-Length"] == "18"
    assert headers["X-Trace"] == "abc" and headers["Authorization"] == "Bearer k"
    assert headers["Host"] == srv.url.split("/")[2]


def test_image_goes_as_one_multipart_body(tmp_path):
    image = tmp_path / "digit.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\nfake pixels")
    behaviour = Behaviour()
    with FakeServer(behaviour) as srv:
        target = build_target(srv.url, image=str(image))
        with target.connect() as connection:
            assert target.send(connection) == 200
    content_type = behaviour.last_headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=")[1].encode()
    body = behaviour.last_body
    assert body.startswith(b"--" + boundary + b"\r\n") and body.endswith(b"--" + boundary + b"--\r\n")
    assert b'name="file"; filename="digit.png"' in body and b"Content-Type: image/png" in body
    assert b"\x89PNG\r\n\x1a\nfake pixels" in body


def test_a_dropped_connection_is_an_error_and_the_next_request_reconnects():
    behaviour = Behaviour()
    behaviour.drop_every = 3
    with FakeServer(behaviour) as srv:
        target = build_target(srv.url, json_body="{}", timeout=5)
        with target.connect() as connection:
            samples = [send_one(target, connection) for _ in range(7)]
    assert [s.status for s in samples] == [200, 200, None, 200, 200, None, 200]
    assert [s.error for s in samples if s.status is None] == ["ConnectionError", "ConnectionError"]
    assert connection.opened == 3 and behaviour.connections == 3


def test_connection_close_from_the_server_is_followed_without_errors():
    behaviour = Behaviour()
    behaviour.say_close = True
    with FakeServer(behaviour) as srv:
        target = build_target(srv.url, json_body="{}")
        with target.connect() as connection:
            statuses = [target.send(connection) for _ in range(5)]
    assert statuses == [200] * 5 and connection.opened == 5


def test_an_idle_connection_closed_by_the_server_is_reopened_without_an_error():
    """Like a keep-alive timeout: the server closes silently between requests."""
    behaviour = Behaviour()
    behaviour.close_after_answer = True
    with FakeServer(behaviour) as srv:
        target = build_target(srv.url, json_body="{}")
        with target.connect() as connection:
            statuses = []
            for _ in range(4):
                statuses.append(target.send(connection))
                time.sleep(0.1)  # the server's close reaches us while the connection is idle
    assert statuses == [200] * 4 and connection.opened == 4


def test_chunked_bodies_are_read_to_the_end_and_the_connection_kept():
    behaviour = Behaviour()
    behaviour.chunked = True
    with FakeServer(behaviour) as srv:
        target = build_target(srv.url, json_body="{}")
        with target.connect() as connection:
            statuses = [target.send(connection) for _ in range(5)]
    assert statuses == [200] * 5 and connection.opened == 1


def test_head_answers_have_no_body_whatever_their_length_says():
    with FakeServer(Behaviour()) as srv:
        target = build_target(srv.url, method="HEAD")
        with target.connect() as connection:
            assert [target.send(connection) for _ in range(3)] == [200] * 3
    assert connection.opened == 1


def test_a_slow_answer_is_a_read_timeout():
    with FakeServer(Behaviour(delay=0.5)) as srv:
        target = build_target(srv.url, json_body="{}", timeout=0.1)
        with target.connect() as connection, pytest.raises(ReadTimeout):
            target.send(connection)


def test_refused_is_a_connection_error():
    target = build_target("http://127.0.0.1:9/x", json_body="{}", timeout=1)
    with target.connect() as connection, pytest.raises(ConnectionError):
        target.send(connection)


def test_https_keeps_one_verified_connection(tmp_path, monkeypatch):
    """A certificate made for 127.0.0.1, trusted through SSL_CERT_FILE: the handshake happens once."""
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    behaviour = Behaviour()
    with FakeServer(behaviour, tls=(cert, key)) as srv:
        target = build_target(srv.url, json_body="{}", timeout=5)
        with target.connect() as connection:
            statuses = []
            for _ in range(5):
                statuses.append(target.send(connection))
                time.sleep(0.02)
    assert srv.url.startswith("https://") and statuses == [200] * 5
    assert connection.opened == 1 and behaviour.connections == 1


def test_https_with_an_untrusted_certificate_is_a_connection_error(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
    with FakeServer(Behaviour(), tls=(cert, key)) as srv:
        target = build_target(srv.url, json_body="{}", timeout=5)
        with target.connect() as connection, pytest.raises(ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            target.send(connection)


class _RawServer:
    """Accepts connections and answers every request with the same bytes."""

    def __init__(self, answer):
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def __enter__(self):
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def _serve(self):
        try:
            while True:
                conn, _ = self.sock.accept()
                conn.recv(65536)
                conn.sendall(self.answer)
                conn.close()
        except OSError:  # closed by __exit__
            pass

    def __exit__(self, *exc):
        self.sock.close()


def test_a_non_http_answer_is_an_invalid_response():
    with _RawServer(b"SSH-2.0-OpenSSH_9.6\r\n\r\n") as srv:
        with Connection("127.0.0.1", srv.port, timeout=2) as connection, pytest.raises(InvalidResponse):
            connection.exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


def test_a_body_delimited_by_close_is_read_whole():
    answer = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 100_000
    with _RawServer(answer) as srv:
        with Connection("127.0.0.1", srv.port, timeout=2) as connection:
            assert connection.exchange(b"GET / HTTP/1.0\r\n\r\n") == 200
            assert connection.sock is None  # the body ended with the connection: not kept


def test_errors_by_exception_under_load():
    behaviour = Behaviour()
    behaviour.drop_every = 4
    with FakeServer(behaviour) as srv:
        samples, elapsed = closed_loop(build_target(srv.url, json_body="{}", timeout=5), 3, n_requests=80)
    s = summarize(samples, elapsed)
    assert s["requests"] == 80
    # every 4th request the server received was dropped, and nothing else failed
    assert behaviour.count == 80 and s["errors_by_exception"] == {"ConnectionError": 20} and s["errors"] == 20
