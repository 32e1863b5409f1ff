"""Same input, same answer, against a real Gunicorn with coalescing on: one input sent again and
again among 15 concurrent clients (whose requests get merged with it) comes back as the same bytes
as when it was sent alone; inside other clients' batches it gets the same numbers too."""

import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests

from bench.models import build_wide_mlp
from inference.testing import GunicornServer

pytestmark = pytest.mark.e2e

CLIENTS = 15
PER_CLIENT = 30
FIXED = {"iris-mlp": [5.9, 3.0, 4.2, 1.5], "diabetes-risk": [48.0, 26.5, 94.0, 99.0],
         "iris-rf": [6.1, 2.8, 4.7, 1.2], "wide-mlp": [0.3, -1.2, 0.7, 2.0]}
FIELDS = ("prediction", "class_id", "confidence", "probabilities")


@pytest.fixture(scope="module")
def repository(model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("same") / "artifacts"
    for name in ("iris-mlp", "diabetes-risk", "iris-rf"):
        shutil.copytree(model_dir / name, root / name)
    build_wide_mlp(root)  # a forward pass of milliseconds: requests are sure to be merged
    return root


def _others(rng, name):
    """Another client's rows: 1 to 6 rows near the fixed input, the fixed row among them now and then."""
    base = np.array(FIXED[name])
    rows = (base + rng.normal(0, 0.5, size=(int(rng.integers(1, 7)), len(base)))).round(2).tolist()
    position = None
    if rng.random() < 0.3:
        position = int(rng.integers(0, len(rows) + 1))
        rows.insert(position, FIXED[name])
    return rows, position


def _client(url, name, n):
    """Client 0 sends the fixed row alone; the others send batches. Returns what to compare."""
    rng = np.random.default_rng(n)
    alone, inside = [], []
    with requests.Session() as session:
        for _ in range(PER_CLIENT):
            if n == 0 or rng.random() < 0.2:
                r = session.post(f"{url}/models/{name}/predict", json={"features": FIXED[name]}, timeout=30)
                assert r.status_code == 200
                alone.append(r.content)
            else:
                rows, position = _others(rng, name)
                r = session.post(f"{url}/models/{name}/predict", json={"inputs": rows}, timeout=30)
                assert r.status_code == 200
                if position is not None:
                    inside.append(r.json()["predictions"][position])
    return alone, inside


def _merged_requests(url, name):
    text = requests.get(url + "/metrics", timeout=10).text
    prefix = f'inference_coalesced_requests_sum{{model="{name}",version="1"}} '
    return sum(float(line[len(prefix):]) for line in text.splitlines() if line.startswith(prefix))


@pytest.mark.parametrize("name", ["wide-mlp", "iris-mlp", "diabetes-risk", "iris-rf"])
def test_one_input_gives_the_same_bytes_alone_and_merged(repository, name):
    env = {"COALESCE": "1", "MODELS": name}
    with GunicornServer(repository, workers=1, threads=16, env=env) as srv:
        quiet = requests.post(f"{srv.url}/models/{name}/predict", json={"features": FIXED[name]}, timeout=30)
        assert quiet.status_code == 200
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(lambda n: _client(srv.url, name, n), range(CLIENTS)))
        merged = _merged_requests(srv.url, name)
    alone = [body for a, _ in results for body in a]
    inside = [row for _, i in results for row in i]
    assert len(alone) >= PER_CLIENT and inside
    assert set(alone) == {quiet.content}  # byte for byte
    expected = {k: v for k, v in json.loads(quiet.content).items() if k in FIELDS}
    assert all(row == expected for row in inside)  # the same floats inside other batches
    if name == "wide-mlp":
        assert merged > 0  # requests were in fact merged
