"""Drift against a real 4-worker Gunicorn: 2,000 rows drawn from the training data read as stable on
every feature; 2,000 rows with one feature shifted by one standard deviation read as a major shift
on that feature only. The counts are summed over the workers; /metrics carries the same PSI."""

import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests

from inference.testing import GunicornServer
from inference.train import training_rows

pytestmark = pytest.mark.e2e

ROWS = 2000
PER_REQUEST = 10
SHIFTED = {"diabetes-risk": "bmi", "iris-mlp": "sepal_width"}


@pytest.fixture(scope="module")
def repository(model_dir, tmp_path_factory):
    """The two models, each as version 1 (fed training rows) and an identical version 2 (fed shifted rows)."""
    root = tmp_path_factory.mktemp("drift") / "artifacts"
    for name in SHIFTED:
        shutil.copytree(model_dir / name / "1", root / name / "1")
        shutil.copytree(model_dir / name / "1", root / name / "2")
        manifest = json.loads((root / name / "2" / "model.json").read_text())
        (root / name / "2" / "model.json").write_text(json.dumps({**manifest, "version": 2}))
    return root


def draw(name, seed, shift=None):
    """``ROWS`` rows resampled from the training data; ``shift`` moves one feature by one standard deviation."""
    train = training_rows(name)
    rows = train[np.random.default_rng(seed).integers(0, len(train), ROWS)].copy()
    if shift is not None:
        rows[:, shift] += train[:, shift].std()
    return rows


def out_of_range(name, rows):
    """Rows above / below the training range, per feature index (what the warnings should count)."""
    train = training_rows(name)
    return {"above": (rows > train.max(axis=0)).sum(axis=0), "below": (rows < train.min(axis=0)).sum(axis=0)}


def send(url, rows):
    with requests.Session() as session:
        for start in range(0, len(rows), PER_REQUEST):
            r = session.post(url, json={"inputs": rows[start:start + PER_REQUEST].tolist()}, timeout=30)
            assert r.status_code == 200, r.text


def test_psi_reads_stable_for_training_data_and_major_for_a_shifted_feature(repository, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    features = {name: json.loads((repository / name / "1" / "model.json").read_text())["inputs"]["features"]
                for name in SHIFTED}
    batches = {}
    for seed, name in enumerate(SHIFTED):
        batches[(name, 1)] = draw(name, seed)
        batches[(name, 2)] = draw(name, seed + 10, shift=features[name].index(SHIFTED[name]))
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "MODELS": ",".join(SHIFTED)}
    with GunicornServer(repository, workers=4, env=env) as srv:
        jobs = [(f"{srv.url}/models/{name}/versions/{version}/predict", rows[part::4])
                for (name, version), rows in batches.items() for part in range(4)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda job: send(*job), jobs))
        reports = {key: requests.get(f"{srv.url}/models/{key[0]}/versions/{key[1]}/drift", timeout=10).json()
                   for key in batches}
        exposition = requests.get(srv.url + "/metrics", timeout=10).text
        workers_counting = {p.name for p in Path(metrics_dir).glob("counter_*.db")}

    assert len(workers_counting) >= 2  # the rows were counted by several workers, and summed
    for (name, version), report in reports.items():
        assert report["rows"] == ROWS, (name, version)
        psi = {f: report["features"][f]["psi"] for f in features[name]}
        if version == 1:
            assert all(value < 0.1 for value in psi.values()), (name, psi)
            assert report["reading"] == "stable"
        else:
            shifted = SHIFTED[name]
            assert psi[shifted] > 0.25 and report["features"][shifted]["reading"] == "major", (name, psi)
            assert all(value < 0.1 for f, value in psi.items() if f != shifted), (name, psi)
        for feature, value in psi.items():  # the gauge says the same
            line = (f'inference_drift_psi{{feature="{feature}",model="{name}",version="{version}"}} '
                    r"([0-9.e+-]+)")
            assert float(re.search(line, exposition).group(1)) == pytest.approx(value, abs=1e-6)

    for (name, version), rows in batches.items():  # every out-of-range value was counted, summed over workers
        expected = out_of_range(name, rows)
        for kind, per_feature in expected.items():
            for i, count in enumerate(per_feature.tolist()):
                pattern = (f'inference_input_warnings_total{{feature="{features[name][i]}",kind="{kind}_range",'
                           f'model="{name}",version="{version}"}} ([0-9.e+]+)')
                found = re.search(pattern, exposition)
                assert (float(found.group(1)) if found else 0) == count, (name, version, kind, i)
