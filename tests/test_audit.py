"""The audit log through the app (one line per answered prediction) and ``inference audit verify``."""

import json
import os

import orjson
import pytest

from inference import audit
from inference.cli import main as cli
from inference.core.manifest import sha256_file

IRIS = [5.1, 3.5, 1.4, 0.2]
NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def audited(make_app, tmp_path):
    def make(**config):
        path = tmp_path / "audit.log"
        return make_app(AUDIT_LOG=str(path), **config).test_client(), path

    return make


def test_one_line_per_answered_prediction(audited, model_dir):
    client, path = audited()
    ok = client.post("/models/iris-rf/predict", json={"inputs": [IRIS, IRIS]}, headers={"X-Request-ID": "req-1"})
    assert ok.status_code == 200
    assert client.post("/models/iris-rf/predict", json={"features": [1, 2]}).status_code == 400
    assert client.get("/models/iris-rf").status_code == 200
    [line] = _lines(path)
    folder = model_dir / "iris-rf" / "1"
    assert line["request_id"] == "req-1" and line["model"] == "iris-rf" and line["version"] == 1
    # the file that computed the answer (the ONNX twin) and the weights it was made from
    assert (line["runtime"], line["file"], line["sha256"]) == ("onnxruntime", "model.onnx",
                                                              sha256_file(folder / "model.onnx"))
    assert (line["source_file"], line["source_sha256"]) == ("model.joblib", sha256_file(folder / "model.joblib"))
    assert line["rows"] == 2 and line["outputs"]["labels"] == ["setosa", "setosa"]
    served = [[p["probabilities"][k] for k in ("setosa", "versicolor", "virginica")]
              for p in ok.get_json()["predictions"]]
    assert line["outputs"]["probabilities"] == served
    assert "inputs" not in line  # raw inputs only with AUDIT_INPUTS=1


def test_input_hash_is_canonical_and_raw_inputs_are_opt_in(audited):
    client, path = audited(AUDIT_INPUTS=True)
    client.post("/models/iris-mlp/predict", json={"features": IRIS})
    client.post("/models/iris-mlp/predict", json={"features": dict(zip(NAMES, IRIS, strict=True))})
    client.post("/v2/models/iris-mlp/infer",
                json={"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 4], "data": IRIS}]})
    lines = _lines(path)
    assert len(lines) == 3
    assert len({line["input_sha256"] for line in lines}) == 1  # positional, named and V2: one input
    assert lines[0]["inputs"] == [dict(zip(NAMES, IRIS, strict=True))]
    expected = audit.sha256(orjson.dumps(lines[0]["inputs"], option=orjson.OPT_SORT_KEYS))
    assert lines[0]["input_sha256"] == expected


def test_a_log_that_cannot_be_written_fails_the_request(make_app, tmp_path):
    client = make_app(AUDIT_LOG=str(tmp_path / "no-such-folder" / "audit.log")).test_client()
    r = client.post("/models/iris-mlp/predict", json={"features": IRIS})
    assert r.status_code == 503 and r.get_json()["code"] == "audit_unavailable"
    assert "prediction" not in r.get_json()


def test_rotation_by_rename_reopens_the_file(audited):
    client, path = audited()
    client.post("/models/linear/predict", json={"features": [1, 2, 3]})
    os.rename(path, path.with_suffix(".1"))
    client.post("/models/linear/predict", json={"features": [1, 2, 3]})
    assert len(_lines(path.with_suffix(".1"))) == 1 and len(_lines(path)) == 1


def test_huge_batches_are_summarised_within_the_line_limit(audited):
    client, path = audited(AUDIT_INPUTS=True)
    rows = [[float(i), 2.0, 3.0] for i in range(2000)]
    assert client.post("/models/linear/predict", json={"inputs": rows}).status_code == 200
    raw = path.read_bytes()
    assert len(raw) <= audit.MAX_LINE
    line = json.loads(raw)
    assert line["omitted"] == ["inputs", "outputs"] and line["rows"] == 2000
    assert audit.verify([raw]).ok


def test_image_predictions_are_audited(audited):
    import io
    from pathlib import Path

    client, path = audited()
    png = Path(__file__).resolve().parents[1].joinpath("docs", "digit-7.png").read_bytes()
    r = client.post("/models/digits-cnn/predict", data={"file": (io.BytesIO(png), "7.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 200
    [line] = _lines(path)
    assert line["model"] == "digits-cnn" and line["rows"] == 1


def _write_log(audited):
    client, path = audited(AUDIT_INPUTS=True)
    for row in ([1, 2, 3], [4, 5, 6]):
        client.post("/models/linear/predict", json={"features": row})
    client.post("/models/iris-mlp/predict", json={"inputs": [IRIS] * 3})
    return path


def test_verify_accepts_a_good_log(audited, capsys):
    path = _write_log(audited)
    assert cli(["audit", "verify", str(path), "--inputs"]) == 0
    assert "3 lines, ok; input hashes checked on 3 lines" in capsys.readouterr().out


@pytest.mark.parametrize(("damage", "problem"), [
    (lambda raw: raw[:-20], "incomplete last line"),
    (lambda raw: raw.replace(b'"values":[[0.6', b'"values":[[0.7', 1), "record_sha256 does not match"),
    (lambda raw: raw.replace(b'"x1":1.0', b'"x1":9.0', 1), "record_sha256 does not match"),
    (lambda raw: raw + b"{not json\n", "not JSON"),
    (lambda raw: raw + b'{"time": "x"}\n', "missing"),
])
def test_verify_finds_damage(audited, capsys, damage, problem):
    path = _write_log(audited)
    path.write_bytes(damage(path.read_bytes()))
    assert cli(["audit", "verify", str(path)]) == 1
    assert problem in capsys.readouterr().out


def test_verify_checks_inputs_against_their_hash(audited):
    path = _write_log(audited)
    lines = path.read_bytes().splitlines(keepends=True)
    line = json.loads(lines[0])
    line["inputs"][0]["x1"] = 9.0
    del line["record_sha256"]  # a careful forger recomputes the line's own hash...
    line["record_sha256"] = audit.sha256(audit.canonical(line))
    tampered = [audit.canonical(line) + b"\n", *lines[1:]]
    assert audit.verify(tampered).ok  # ...which only the input check catches
    verdict = audit.verify(tampered, check_inputs=True)
    assert verdict.problems == [(1, "input_sha256 does not match the inputs")]


def test_verify_refuses_an_empty_log(tmp_path, capsys):
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    assert cli(["audit", "verify", str(empty)]) == 1
    assert "EMPTY" in capsys.readouterr().out
