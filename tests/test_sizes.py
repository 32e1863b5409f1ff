"""Worker and thread defaults from the cores this process may use (affinity, cgroup quota)."""

from inference.config import SERVER, cgroup_cpu_limit, cpu_cores, load, server_sizes


def test_cgroup_v2_quota_in_cores(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_limit(str(tmp_path)) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(str(tmp_path)) is None


def test_cgroup_v1_quota_in_cores(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(str(tmp_path)) == 3.0
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(str(tmp_path)) is None


def test_cores_are_the_affinity_capped_by_the_quota_rounded_up(tmp_path, monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(16)))
    assert cpu_cores(str(tmp_path)) == 16  # no cgroup files: the affinity
    (tmp_path / "cpu.max").write_text("250000 100000\n")
    assert cpu_cores(str(tmp_path)) == 3
    (tmp_path / "cpu.max").write_text("10000 100000\n")
    assert cpu_cores(str(tmp_path)) == 1


def test_sizes_follow_the_cores_unless_set():
    server = load(scope=SERVER, environ={})
    assert server_sizes(server, cores=2) == (2, 4)
    assert server_sizes(server, cores=1) == (2, 4)  # never fewer than two workers
    assert server_sizes(server, cores=8) == (8, 4)
    set_ = load(scope=SERVER, environ={"WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "16"})
    assert server_sizes(set_, cores=8) == (3, 16)


def test_torch_threads_share_the_cores_unless_set():
    from inference.config import torch_threads

    assert torch_threads({}, workers=2, cores=8) == 4
    assert torch_threads({}, workers=4, cores=2) == 1  # never 0: at least one thread
    assert torch_threads({"TORCH_THREADS": 3}, workers=4, cores=2) == 3
