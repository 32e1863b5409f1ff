import pytest

from loadtest.stats import Sample, find_knee, percentile, summarize


def test_nearest_rank_percentiles():
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 99.9) == 100
    assert percentile(values, 100) == 100
    assert percentile([7], 99) == 7
    assert percentile([], 50) is None
    assert percentile([1, 2, 3, 4], 25) == 1
    assert percentile([1, 2, 3, 4], 26) == 2


def _s(latency, status=200, error=None, start=0.0):
    return Sample(start, start, start + latency, status, error)


def test_summary_counts_errors_by_kind_and_keeps_their_latency():
    samples = [_s(0.010)] * 97 + [_s(0.5, 500), _s(0.02, 503), _s(1.0, None, "ConnectionError")]
    s = summarize(samples, elapsed=2.0)
    assert s["requests"] == 100 and s["ok"] == 97 and s["errors"] == 3
    assert s["errors_by_status"] == {"500": 1, "503": 1}
    assert s["errors_by_exception"] == {"ConnectionError": 1}
    assert s["throughput_rps"] == 50.0
    assert s["latency_max_s"] == 0.5  # the exception has no latency; the 500 does
    assert s["latency_p50_s"] == 0.010
    assert s["latency_mean_s"] == pytest.approx((97 * 0.01 + 0.5 + 0.02) / 99)


def test_open_loop_latency_counts_from_the_intended_time():
    s = Sample(intended=1.0, sent=1.8, done=1.81, status=200)
    assert s.latency == pytest.approx(0.81)


def _row(rps, p99, error_rate=0.0):
    return {"throughput_rps": rps, "latency_p99_s": p99, "error_rate": error_rate}


def test_knee():
    assert find_knee([_row(100, 0.010), _row(190, 0.012), _row(200, 0.060)]) == 2
    assert find_knee([_row(100, 0.010), _row(200, 0.020), _row(400, 0.030)]) is None  # p99 tracks the work
    assert find_knee([_row(100, 0.010), _row(200, 0.011, 0.05)]) == 1
    assert find_knee([_row(100, 0.010)]) is None
