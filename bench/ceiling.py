"""The ceiling: a Flask endpoint that parses the same JSON and answers a constant, no model.

Served under the same Gunicorn configuration as the server (``gunicorn -c gunicorn.conf.py
bench.ceiling:app``), it shows what Flask + Gunicorn cost on this machine by themselves.
"""

from flask import Flask, request

app = Flask(__name__)
ANSWER = {"model": "none", "version": 1, "prediction": "setosa", "class_id": 0, "confidence": 1.0,
          "probabilities": {"setosa": 1.0, "versicolor": 0.0, "virginica": 0.0}}


@app.post("/predict")
def predict():
    request.get_json()
    return ANSWER
