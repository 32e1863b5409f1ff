"""Capacity planning arithmetic (pure) and its command line on a bench results file."""

import json

from deploy import capacity

RESULTS = [
    {"server": "server", "scenario": "m", "concurrency": 1, "rps": 1500.0, "p99_ms": 1.4, "errors": 0},
    {"server": "server", "scenario": "m", "concurrency": 8, "rps": 3600.0, "p99_ms": 5.9, "errors": 0},
    {"server": "server", "scenario": "m", "concurrency": 32, "rps": 3200.0, "p99_ms": 47.8, "errors": 0},
    {"server": "naive", "scenario": "m", "concurrency": 8, "rps": 9999.0, "p99_ms": 1.0, "errors": 0},
]


def test_operating_point_is_the_fastest_that_meets_the_p99():
    point = capacity.operating_point(RESULTS, "m", cores=2, p99_target_ms=10)
    assert (point.concurrency, point.per_core_rps) == (8, 1800.0)
    assert capacity.operating_point(RESULTS, "m", cores=2, p99_target_ms=50).concurrency == 8  # 3600 > 3200
    assert capacity.operating_point(RESULTS, "m", cores=2, p99_target_ms=1.0) is None


def test_plan_adds_headroom_and_a_spare_replica():
    point = capacity.OperatingPoint("m", 8, 3600.0, 5.9, 2)
    # 1,800/core x 2 cores x 0.6 = 2,160 req/s per replica; 10,000 needs 5, plus 1 spare.
    p = capacity.plan(10_000, point, cores_per_replica=2, utilisation=0.6, spare=1)
    assert (p["replicas"], p["cores"]) == (6, 12)
    assert capacity.plan(100, point)["replicas"] == capacity.MIN_REPLICAS


def test_command_line_prints_the_table_from_a_results_file(tmp_path, capsys):
    path = tmp_path / "bench-x.json"
    path.write_text(json.dumps({"cores": 2, "tool": "wrk", "results": RESULTS}))
    assert capacity.main([str(path), "--models", "m"]) == 0
    out = capsys.readouterr().out
    assert "| m | 1,800 (c=8, p99 5.9 ms) | 2 × 2 cores (4) | 2 × 2 cores (4) | 6 × 2 cores (12) |" in out
