"""A real nginx from deploy/nginx in front of a real Gunicorn: JSON errors, request ids, rate limit, slow clients."""

import json
import socket
import time

import pytest
import requests

from inference.testing import free_port

from .clients import idle_connections, request_latencies, slow_header_clients

pytestmark = pytest.mark.e2e
ROW = {"features": [5.1, 3.5, 1.4, 0.2]}


def raw_exchange(port, data, timeout=5):
    """Send ``data`` on a fresh connection and return everything the server sends before it closes."""
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def assert_json_error(response, status, code):
    """nginx's own error in the server's error shape, with the id also in X-Request-ID."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "code", "request_id"} and body["error"]
    assert body["code"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


@pytest.fixture
def proxy(replica, start_nginx):
    return start_nginx([f"127.0.0.1:{replica.port}"], client_max_body_size=1000, client_body_timeout="1s")


def test_predictions_pass_through_and_share_the_request_id(proxy):
    chosen = requests.post(proxy.url + "/predict", json=ROW, headers={"X-Request-ID": "client-id.1"}, timeout=10)
    assert chosen.status_code == 200 and chosen.json()["prediction"] == "setosa"
    assert chosen.headers["X-Request-ID"] == "client-id.1"
    # An unsafe client id is replaced by nginx's, which the app then echoes and nginx logs.
    made = requests.post(proxy.url + "/predict", json=ROW, headers={"X-Request-ID": "two words"}, timeout=10)
    rid = made.headers["X-Request-ID"]
    assert made.status_code == 200 and rid != "two words" and len(rid) == 32
    proxy.stop()  # flushes the access log
    logged = [json.loads(line) for line in (proxy.prefix / "logs" / "access.log").read_text().splitlines()]
    assert {"client-id.1", rid} <= {entry["request_id"] for entry in logged}
    assert all("features" not in line for line in map(json.dumps, logged))


def test_the_apps_own_errors_pass_through_unchanged(proxy):
    response = requests.post(proxy.url + "/predict", json={"features": [1, "x", 3, 4]}, timeout=10)
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    assert response.json()["request_id"] == response.headers["X-Request-ID"]
    assert requests.get(proxy.url + "/models/nope", timeout=10).json()["code"] == "model_not_found"


def test_body_over_the_limit_is_a_json_413_before_any_replica_sees_it(proxy):
    response = requests.post(proxy.url + "/predict", data=b"[" * 5000, timeout=10,
                             headers={"Content-Type": "application/json"})
    body = assert_json_error(response, 413, "payload_too_large")
    assert "1000 bytes" in body["error"]


def test_bad_request_line_long_uri_and_huge_headers_are_json(proxy):
    raw = raw_exchange(proxy.port, b"NOT HTTP AT ALL\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    assert json.loads(body)["code"] == "bad_request"
    assert_json_error(requests.get(proxy.url + "/" + "a" * 9000, timeout=10), 414, "uri_too_long")
    assert_json_error(requests.get(proxy.url + "/models", headers={"X-Big": "b" * 9000}, timeout=10),
                      431, "request_header_fields_too_large")


def test_metrics_are_not_served_through_the_proxy(proxy):
    assert_json_error(requests.get(proxy.url + "/metrics", timeout=10), 403, "forbidden")


def test_a_body_sent_too_slowly_is_cut_off_without_an_html_page(proxy):
    started = time.monotonic()
    raw = raw_exchange(proxy.port, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: 100\r\n\r\n{\"features\"", timeout=10)
    # nginx closes a connection whose body stalls past client_body_timeout (1 s here); whatever it
    # sends first must be JSON, never its HTML page.
    assert time.monotonic() - started < 8
    assert b"<html" not in raw
    if raw:
        assert b"application/json" in raw.partition(b"\r\n\r\n")[0]


def test_no_replica_reachable_is_a_json_502(start_nginx):
    proxy = start_nginx([f"127.0.0.1:{free_port()}"])
    response = requests.post(proxy.url + "/predict", json=ROW, timeout=10)
    assert_json_error(response, 502, "upstream_unavailable")
    assert response.headers["Retry-After"] == "1"


def test_rate_limit_per_client_is_a_json_429_and_spares_the_probes(replica, start_nginx):
    proxy = start_nginx([f"127.0.0.1:{replica.port}"], rate="2r/s", burst="3")
    with requests.Session() as s:
        started = time.monotonic()
        statuses = [s.post(proxy.url + "/predict", json=ROW, timeout=10) for _ in range(12)]
        elapsed = time.monotonic() - started
        probes = [s.get(proxy.url + "/ready", timeout=10).status_code for _ in range(12)]
    codes = [r.status_code for r in statuses]
    # The burst (3) plus the first request pass at once; after that, 2 more per second elapsed.
    allowed = 4 + int(elapsed * 2) + 1
    assert codes[:4] == [200] * 4 and 4 <= codes.count(200) <= allowed, (codes, elapsed)
    assert codes.count(429) == 12 - codes.count(200) >= 1, codes
    limited = next(r for r in statuses if r.status_code == 429)
    assert_json_error(limited, 429, "rate_limited")
    assert limited.headers["Retry-After"] == "1"
    assert probes == [200] * 12


def test_idle_and_slow_clients_do_not_delay_requests_through_nginx(replica, start_nginx):
    """200 idle connections and 16 clients sending headers at 1 byte/s: each normal request < 1 s."""
    proxy = start_nginx([f"127.0.0.1:{replica.port}"])
    control = request_latencies(proxy.url + "/models", 3, timeout=2, pause=0)
    # The same clients straight at Gunicorn hold every thread: the control that the attack is real.
    with slow_header_clients(replica.port, 16):
        time.sleep(1)
        direct = request_latencies(replica.url + "/models", 1, timeout=2, pause=0)
    assert direct[0] > 1.0, f"Gunicorn answered in {direct[0]:.3f}s despite 16 slow clients"
    replica.wait_ready(30)  # the slow connections are gone; the threads are free again
    with idle_connections(proxy.port, 200), slow_header_clients(proxy.port, 16):
        time.sleep(1)
        through = request_latencies(proxy.url + "/models", 10, timeout=2, pause=0.3)
    assert max(control) < 1.0
    assert max(through) < 1.0, f"through nginx: {[round(x, 3) for x in through]} s (control {control})"
