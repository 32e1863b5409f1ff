"""The tutorial-naive baseline, for comparison only: how the reference documents serve a model.

Flask, models loaded at module level, one global ``threading.Lock``, ``jsonify``, default torch
threads, no validation; run with plain ``gunicorn -w 4 bench.naive_app:app``. It serves the same
model files as the server (MODEL_DIR) so that the comparison is of serving, not of models.
"""

import json
import os
import threading

import joblib
import torch
from flask import Flask, jsonify, request

from inference.core.architectures import SimpleModel, SimpleNN

MODEL_DIR = os.environ.get("MODEL_DIR", "artifacts")
app = Flask(__name__)
lock = threading.Lock()

with open(f"{MODEL_DIR}/iris-mlp/1/model.json") as fh:
    _standardize = json.load(fh)["preprocessing"]["standardize"]
MEAN = torch.tensor(_standardize["mean"])
SCALE = torch.tensor(_standardize["scale"])
LABELS = ["setosa", "versicolor", "virginica"]

mlp = SimpleNN(4, 16, 3)
mlp.load_state_dict(torch.load(f"{MODEL_DIR}/iris-mlp/1/model.pt"))
mlp.eval()
linear = SimpleModel(3, 1)
linear.load_state_dict(torch.load(f"{MODEL_DIR}/linear/1/model.pt"))
linear.eval()
forest = joblib.load(f"{MODEL_DIR}/iris-rf/1/model.joblib")


@app.route("/predict", methods=["POST"])
def predict():
    data = request.get_json()
    x = (torch.tensor([data["features"]], dtype=torch.float32) - MEAN) / SCALE
    with lock:
        with torch.no_grad():
            probs = torch.softmax(mlp(x), dim=1)[0]
    class_id = int(probs.argmax())
    return jsonify({"prediction": LABELS[class_id], "class_id": class_id, "confidence": float(probs[class_id]),
                    "probabilities": {label: float(p) for label, p in zip(LABELS, probs, strict=False)}})


@app.route("/rf", methods=["POST"])
def predict_forest():
    data = request.get_json()
    with lock:
        probs = forest.predict_proba([data["features"]])[0]
    class_id = int(probs.argmax())
    return jsonify({"prediction": LABELS[class_id], "class_id": class_id, "confidence": float(probs[class_id]),
                    "probabilities": {label: float(p) for label, p in zip(LABELS, probs, strict=False)}})


@app.route("/linear", methods=["POST"])
def predict_linear():
    data = request.get_json()
    x = torch.tensor(data["inputs"], dtype=torch.float32)
    with lock:
        with torch.no_grad():
            out = linear(x)
    return jsonify({"predictions": out.tolist()})
