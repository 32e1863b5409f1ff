"""The tester against a local server whose behaviour is known."""

import threading
import time

import pytest

from loadtest.__main__ import main
from loadtest.runner import closed_loop, open_loop
from loadtest.stats import summarize
from loadtest.target import build_target
from tests.loadtest.fakeserver import Behaviour, FakeServer

DELAY = 0.020
# p50 may exceed the injected delay by this much (HTTP, threads, a busy 2-core machine),
# and can never be below it.
TOLERANCE = 0.015


def test_closed_loop_p50_matches_an_injected_delay():
    with FakeServer(Behaviour(delay=DELAY)) as srv:
        samples, elapsed = closed_loop(build_target(srv.url, json_body='{"x": 1}'), 4, duration=1.5, warmup=0.3)
    s = summarize(samples, elapsed)
    assert s["errors"] == 0
    assert DELAY <= s["latency_p50_s"] <= DELAY + TOLERANCE
    # 4 clients at ~20 ms each: about 200 req/s, and never more than the delay allows
    assert 100 <= s["throughput_rps"] <= 4 / DELAY * 1.05


def test_request_count_mode_records_exactly_n():
    with FakeServer(Behaviour()) as srv:
        samples, _ = closed_loop(build_target(srv.url, json_body="{}"), 3, n_requests=50, warmup=0.1)
    assert len(samples) == 50


def test_open_loop_shows_a_one_second_stall_in_p99():
    """Two senders, 50 req/s, and the server stalls for 1 s: the requests queued in the tester
    behind the stuck senders count from their scheduled time, so p99 shows the stall."""
    behaviour = Behaviour(delay=0.002)
    with FakeServer(behaviour) as srv:
        def stall_later():
            time.sleep(1.0)
            behaviour.stall_until = time.monotonic() + 1.0

        threading.Thread(target=stall_later, daemon=True).start()
        samples, elapsed = open_loop(build_target(srv.url, json_body="{}"), rate=50, duration=3.0, warmup=0.0,
                                     max_in_flight=2)
    s = summarize(samples, elapsed)
    assert s["errors"] == 0
    assert s["latency_p99_s"] >= 0.8
    assert s["latency_p50_s"] < 0.1
    # Measured from when each request actually left, most of the stall would vanish:
    service = sorted(x.done - x.sent for x in samples)
    assert service[int(0.9 * len(service))] < 0.1 < s["latency_p90_s"]


def test_errors_are_counted_by_kind_without_crashing():
    behaviour = Behaviour()
    behaviour.fail_every = 3
    behaviour.drop_every = 5
    with FakeServer(behaviour) as srv:
        samples, elapsed = closed_loop(build_target(srv.url, json_body="{}", timeout=5), 2, n_requests=60)
    s = summarize(samples, elapsed)
    assert s["requests"] == 60
    assert s["errors_by_status"].get("500", 0) > 0
    assert sum(s["errors_by_exception"].values()) > 0
    assert "ConnectionError" in s["errors_by_exception"]


def test_refused_connections_are_errors_too():
    samples, elapsed = closed_loop(build_target("http://127.0.0.1:9/x", json_body="{}", timeout=1), 1, n_requests=3)
    assert summarize(samples, elapsed)["errors_by_exception"] == {"ConnectionError": 3}


def test_cli_sweep_writes_json_csv_and_png(tmp_path, capsys):
    with FakeServer(Behaviour(delay=0.005)) as srv:
        result = main([srv.url, "--body", '{"features": [1, 2]}', "-c", "1,2", "-t", "0.5", "--warmup", "0.1",
                       "--json", str(tmp_path / "r.json"), "--csv", str(tmp_path / "r.csv"),
                       "--plot", str(tmp_path / "r.png"), "--no-progress"])
    out = capsys.readouterr().out
    assert "p99.9" in out and "req/s" in out
    assert [step["concurrency"] for step in result["steps"]] == [1, 2]
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((tmp_path / "r.csv").read_text().splitlines()) == 3
    assert '"steps"' in (tmp_path / "r.json").read_text()


def test_image_payload_is_sent_as_multipart(tmp_path):
    image = tmp_path / "digit.png"
    image.write_bytes(b"\x89PNG fake")
    target = build_target("http://127.0.0.1:1/x", image=str(image))
    assert target.files["file"][0] == "digit.png" and target.files["file"][2] == "image/png"
    with pytest.raises(ValueError):
        build_target("http://x/", json_body="{}", image=str(image))


@pytest.mark.e2e
def test_serve_starts_the_bundled_server_and_stops_it(model_dir, monkeypatch, capsys):
    """``--serve`` with nothing on the port: start this project's server there, measure, stop it."""
    import requests

    from inference.testing import free_port

    port = free_port()
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    url = f"http://127.0.0.1:{port}/predict"
    result = main([url, "--body", '{"features": [5.1, 3.5, 1.4, 0.2]}', "-n", "20", "--warmup", "0",
                   "--serve", "--no-progress"])
    assert result["steps"][0]["requests"] == 20 and result["steps"][0]["errors"] == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
