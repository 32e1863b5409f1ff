"""inference add for scikit-learn files: a DataFrame Pipeline with string columns, integer and
string classes, a regressor, skops with trusted types; what is refused leaves nothing behind."""

import json

import joblib
import numpy as np
import pytest

from tests.importing.conftest import add, clinical_frame, clinical_pipeline, json_rows, serve, served_probabilities


def test_clinical_pipeline_is_served_like_the_in_process_model(clinical, tmp_path, capsys):
    assert add(tmp_path, clinical["path"], "readmission", "--sample", clinical["sample"]) == 0
    out = capsys.readouterr().out
    assert "added readmission version 1" in out and "pickle" in out and "ONNX twin verified" in out
    manifest = json.loads((tmp_path / "readmission" / "1" / "model.json").read_text())
    assert manifest["inputs"]["features"] == ["age", "sex", "smoker", "bmi", "visits"]
    assert manifest["inputs"]["types"]["sex"] == {"type": "string", "categories": ["F", "M"]}
    assert manifest["inputs"]["types"]["age"] == {"type": "number"}
    assert manifest["outputs"]["labels"] == ["home", "readmitted"]
    assert manifest["compiled"]["parity"]["passed"] and len(manifest["golden"]["inputs"]) == 20

    client = serve(tmp_path)
    assert client.get("/models/readmission").get_json()["runtime"] == "onnxruntime"
    frame = clinical["frame"].iloc[100:160]
    served = served_probabilities(client, "readmission", json_rows(frame))
    np.testing.assert_allclose(served, clinical["model"].predict_proba(frame), atol=1e-4)


def test_typed_bad_inputs_are_400_naming_the_field(clinical, tmp_path):
    add(tmp_path, clinical["path"], "readmission", "--sample", clinical["sample"])
    client = serve(tmp_path)
    good = {"age": 70, "sex": "F", "smoker": "yes", "bmi": 30.1, "visits": 3}
    cases = [({**good, "sex": 1}, "sex"), ({**good, "age": "70"}, "age"), ({**good, "bmi": None}, "bmi"),
             ({**good, "age": True}, "age"), ({k: v for k, v in good.items() if k != "smoker"}, "smoker"),
             ({**good, "extra": 1}, "extra")]
    for row, field in cases:
        r = client.post("/models/readmission/predict", json={"features": row})
        assert r.status_code == 400, row
        body = r.get_json()
        assert body["code"] == "validation_error" and field in body["details"]["features"], body
    r = client.post("/models/readmission/predict", json={"inputs": [good, {**good, "visits": "x"}]})
    assert r.status_code == 400 and r.get_json()["details"]["inputs"] == {"1": {"visits": ["Not a number."]}}
    r = client.post("/models/readmission/predict", json={"features": [70, "F", "yes", 30.1, 3]})
    assert r.status_code == 200  # a list row in feature order is accepted too
    r = client.post("/models/readmission/predict", json={"features": [70, "F", "yes"]})
    assert r.status_code == 400


def test_integer_classes_and_numeric_fast_path(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    x, y = load_iris(return_X_y=True)
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(x, y)
    joblib.dump(model, tmp_path / "forest.joblib")
    sample = tmp_path / "iris.csv"
    sample.write_text("sl,sw,pl,pw\n" + "\n".join(",".join(map(str, row)) for row in x[::5]))
    assert add(tmp_path / "repo", tmp_path / "forest.joblib", "iris-forest", "--sample", sample) == 0
    client = serve(tmp_path / "repo")
    meta = client.get("/models/iris-forest").get_json()
    assert meta["outputs"]["labels"] == ["0", "1", "2"] and meta["inputs"]["frame"] is False
    body = client.post("/models/iris-forest/predict", json={"inputs": x[::3].tolist()}).get_json()
    probs = np.array([[p["probabilities"][k] for k in ("0", "1", "2")] for p in body["predictions"]])
    np.testing.assert_allclose(probs, model.predict_proba(x[::3]), atol=1e-4)


def test_regressor_on_a_dataframe(tmp_path):
    from sklearn.ensemble import RandomForestRegressor

    df = clinical_frame()
    target = df.age * 0.3 + (df.smoker == "yes") * 5.0
    model = clinical_pipeline(RandomForestRegressor(n_estimators=20, random_state=0)).fit(df, target)
    joblib.dump(model, tmp_path / "los.joblib")
    df.head(40).to_csv(tmp_path / "sample.csv", index=False)
    assert add(tmp_path / "repo", tmp_path / "los.joblib", "stay", "--sample", tmp_path / "sample.csv") == 0
    client = serve(tmp_path / "repo")
    rows = df.iloc[200:230]
    r = client.post("/models/stay/predict", json={"inputs": json_rows(rows)})
    assert r.status_code == 200, r.get_json()
    served = np.array(r.get_json()["predictions"]).ravel()
    np.testing.assert_allclose(served, model.predict(rows), atol=1e-3, rtol=1e-5)


def test_skops_needs_the_operator_to_confirm_its_types(tmp_path, capsys):
    import skops.io
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    x, y = load_iris(return_X_y=True)
    model = DecisionTreeClassifier(random_state=0).fit(x, y)
    skops.io.dump(model, tmp_path / "tree.skops")
    sample = tmp_path / "s.csv"
    sample.write_text("a,b,c,d\n" + "\n".join(",".join(map(str, row)) for row in x[::10]))
    repo = tmp_path / "repo"
    assert add(repo, tmp_path / "tree.skops", "tree", "--sample", sample) == 1
    err = capsys.readouterr().err
    assert "sklearn.tree._tree.Tree" in err and "--trust" in err
    assert not (repo / "tree").exists(), "a refused add must write nothing"
    assert add(repo, tmp_path / "tree.skops", "tree", "--sample", sample, "--trust", "sklearn.tree._tree.Tree") == 0
    manifest = json.loads((repo / "tree" / "1" / "model.json").read_text())
    assert manifest["serialization"] == "skops" and manifest["trusted_types"] == ["sklearn.tree._tree.Tree"]
    client = serve(repo, USE_COMPILED=False)  # the skops file itself, loaded with the confirmed types
    assert client.get("/models/tree").get_json()["runtime"] == "scikit-learn"
    body = client.post("/models/tree/predict", json={"inputs": x[::7].tolist()}).get_json()
    assert [int(p["prediction"]) for p in body["predictions"]] == model.predict(x[::7]).tolist()


@pytest.mark.parametrize("case", ["unfitted", "not a model", "sample misses a column", "wrong label count"])
def test_a_failed_add_leaves_no_folder(clinical, tmp_path, capsys, case):
    from sklearn.linear_model import LogisticRegression

    path, options = clinical["path"], ["--sample", clinical["sample"]]
    if case == "unfitted":
        path = tmp_path / "unfitted.joblib"
        joblib.dump(clinical_pipeline(LogisticRegression()), path)
    elif case == "not a model":
        path = tmp_path / "dict.joblib"
        joblib.dump({"weights": [1, 2]}, path)
    elif case == "sample misses a column":
        bad = tmp_path / "bad.csv"
        clinical["frame"].drop(columns=["bmi"]).head(5).to_csv(bad, index=False)
        options = ["--sample", bad]
    else:
        options += ["--labels", "a,b,c"]
    repo = tmp_path / "repo"
    assert add(repo, path, "readmission", *options) == 1
    err = capsys.readouterr().err
    assert err.startswith("inference add: error: ") and err.count("\n") == 1, err
    assert not repo.exists() or not any(repo.iterdir())


def test_next_version_and_existing_versions_untouched(clinical, tmp_path):
    add(tmp_path, clinical["path"], "readmission", "--sample", clinical["sample"])
    before = (tmp_path / "readmission" / "1" / "model.json").read_bytes()
    assert add(tmp_path, clinical["path"], "readmission", "--sample", clinical["sample"]) == 0
    assert sorted(p.name for p in (tmp_path / "readmission").iterdir()) == ["1", "2"]
    assert (tmp_path / "readmission" / "1" / "model.json").read_bytes() == before


def test_added_version_gets_the_sample_as_reference_and_warns_outside_it(clinical, tmp_path):
    add(tmp_path, clinical["path"], "readmission", "--sample", clinical["sample"])
    reference = json.loads((tmp_path / "readmission" / "1" / "model.json").read_text())["reference"]
    sample = clinical["frame"].head(50)
    assert reference["source"] == "sample" and reference["rows"] == 50
    assert reference["features"]["age"]["min"] == sample.age.min()
    assert reference["features"]["smoker"]["kind"] == "category"
    assert sorted(reference["features"]["smoker"]["categories"]) == sorted(sample.smoker.unique())
    client = serve(tmp_path)
    row = {"age": 70, "sex": "X", "smoker": "yes", "bmi": 99.0, "visits": 3}
    body = client.post("/models/readmission/predict", json={"features": row}).get_json()
    assert {(w["feature"], w["kind"]) for w in body["warnings"]} == {("sex", "unseen_category"),
                                                                     ("bmi", "above_range")}
    drift = client.get("/models/readmission/drift").get_json()
    assert set(drift["features"]) == {"age", "sex", "smoker", "bmi", "visits"} and drift["rows"] >= 1
