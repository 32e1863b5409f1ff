"""One step spread over several processes: the count rule, exact merging, the open loop's schedule."""

import threading
import time

import pytest

from loadtest.__main__ import main
from loadtest.processes import Plan, Result, process_count, run, split
from loadtest.selfcheck import cores_used, warnings_for
from loadtest.stats import summarize
from loadtest.target import build_target
from tests.loadtest.fakeserver import Behaviour, FakeServer

# Each spawned process starts a fresh interpreter (about a second on a busy 2-core machine).
pytestmark = pytest.mark.timeout(120)


def test_process_count_rule():
    closed = lambda c: Plan(concurrency=c, duration=1)  # noqa: E731
    opened = lambda r, m=64: Plan(rate=r, duration=1, max_in_flight=m)  # noqa: E731
    assert [process_count(closed(c), cores=2) for c in (1, 4, 8, 9, 16, 32, 256)] == [1, 1, 1, 2, 2, 2, 2]
    assert [process_count(closed(c), cores=16) for c in (1, 8, 9, 32, 64, 256)] == [1, 1, 2, 4, 8, 16]
    assert process_count(closed(32), cores=1) == 1
    assert [process_count(opened(r), cores=8) for r in (10, 1000, 1001, 5000, 100_000)] == [1, 1, 2, 5, 8]
    assert process_count(opened(5000, m=3), cores=8) == 3  # each process needs a sender


def test_split_shares_exactly():
    assert split(10, 3) == [4, 3, 3] and split(2, 4) == [1, 1, 0, 0] and split(0, 2) == [0, 0]
    assert all(sum(split(n, k)) == n for n in range(50) for k in range(1, 7))


def test_closed_loop_over_three_processes_records_exactly_n_requests():
    behaviour = Behaviour(delay=0.002)
    progress = []
    with FakeServer(behaviour) as srv:
        result = run(build_target(srv.url, json_body="{}"), Plan(concurrency=5, n_requests=101), processes=3,
                     on_progress=progress.append)
    assert len(result.samples) == 101 and behaviour.count == 101  # no warm-up: the server saw only these
    assert len(result.process_cpu_s) == 3 and behaviour.connections == 5  # 2 + 2 + 1 clients, one connection each
    assert progress[-1] == 101
    assert summarize(result.samples, result.elapsed)["errors"] == 0


def test_merged_duration_run_measures_the_delay_and_the_throughput():
    """Two processes of two clients, 20 ms per answer: p50 near 20 ms, about 200 req/s in all."""
    delay = 0.020
    with FakeServer(Behaviour(delay=delay)) as srv:
        result = run(build_target(srv.url, json_body="{}"), Plan(concurrency=4, duration=1.5, warmup=0.3),
                     processes=2)
    s = summarize(result.samples, result.elapsed)
    assert s["errors"] == 0 and len(result.process_cpu_s) == 2
    assert delay <= s["latency_p50_s"] <= delay + 0.015
    assert 1.5 <= result.elapsed <= 1.5 + 0.5  # from the shared end of the warm-up, not summed
    assert 100 <= s["throughput_rps"] <= 4 / delay * 1.05


def test_open_loop_split_keeps_the_global_schedule():
    """Three processes take every third slot: merged, the slots are the one schedule at 100 req/s."""
    rate, duration = 100, 1.0
    with FakeServer(Behaviour()) as srv:
        result = run(build_target(srv.url, json_body="{}"), Plan(rate=rate, duration=duration, max_in_flight=6),
                     processes=3)
    intended = sorted(s.intended for s in result.samples)
    assert len(intended) == rate * duration
    assert intended[0] == pytest.approx(0.0, abs=1e-6)  # times count from the end of the (empty) warm-up
    assert all(b - a == pytest.approx(1 / rate, abs=1e-6) for a, b in zip(intended, intended[1:], strict=False))


def test_open_loop_over_two_processes_still_shows_a_stall_in_p99():
    """Each process has one sender; the server stalls for 1 s: requests queued in both processes
    count from their scheduled time, so p99 shows the stall."""
    behaviour = Behaviour(delay=0.002)
    with FakeServer(behaviour) as srv:
        target = build_target(srv.url, json_body="{}")
        seen = []

        def stall_once_running(n):
            seen.append(n)
            if len(seen) == 1:  # the processes have started: stall in a second
                threading.Timer(1.0, lambda: setattr(behaviour, "stall_until", time.monotonic() + 1.0)).start()

        result = run(target, Plan(rate=50, duration=3.0, max_in_flight=2), processes=2,
                     on_progress=stall_once_running)
    s = summarize(result.samples, result.elapsed)
    assert s["errors"] == 0 and len(result.process_cpu_s) == 2
    assert s["latency_p99_s"] >= 0.8
    assert s["latency_p50_s"] < 0.1
    service = sorted(x.done - x.sent for x in result.samples)
    assert service[int(0.9 * len(service))] < 0.1 < s["latency_p90_s"]


def test_cli_processes_flag_and_exact_request_count(capsys):
    with FakeServer(Behaviour()) as srv:
        result = main([srv.url, "--body", "{}", "-c", "4", "-n", "60", "--warmup", "0", "--processes", "2",
                       "--no-progress"])
    step = result["steps"][0]
    assert step["processes"] == 2 and step["requests"] == 60 and step["errors"] == 0
    assert step["tester_cpu_cores"] >= step["tester_busiest_process_cores"] > 0


def test_processes_are_capped_by_the_clients():
    with FakeServer(Behaviour()) as srv:
        result = run(build_target(srv.url, json_body="{}"), Plan(concurrency=2, n_requests=10), processes=4)
    assert len(result.process_cpu_s) == 2 and len(result.samples) == 10


def test_cores_used_add_up_every_process():
    result = Result(samples=[], elapsed=9.0, wall_s=10.0, process_cpu_s=[6.0, 3.0], coordinator_cpu_s=1.0)
    assert cores_used(result) == pytest.approx((1.0, 0.6))


def test_self_check_warns_when_a_process_or_the_tester_is_the_bottleneck():
    saturated = warnings_for(0.8, 0.75, 1, 0.5, 4, [], False)
    assert len(saturated) == 1 and "--processes" in saturated[0] and "0.75 cores" in saturated[0]
    greedy = warnings_for(1.2, 0.4, 3, 0.6, 2, [], False)
    assert len(greedy) == 1 and "1.20 of 2 cores" in greedy[0]
    assert warnings_for(0.2, 0.2, 1, 0.95, 2, [], False)[0].startswith("the machine was 95% busy")
    assert warnings_for(0.3, 0.15, 2, 0.5, 4, [], False) == []
