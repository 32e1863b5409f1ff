"""The same iris-mlp behind FastAPI + uvicorn, for comparison only.

    uvicorn bench.fastapi_app:app --workers 4 --host 127.0.0.1 --port PORT
"""

import json
import os

import torch
from fastapi import FastAPI
from pydantic import BaseModel, Field

from inference.core.architectures import SimpleNN

MODEL_DIR = os.environ.get("MODEL_DIR", "artifacts")
LABELS = ["setosa", "versicolor", "virginica"]
with open(f"{MODEL_DIR}/iris-mlp/1/model.json") as fh:
    _standardize = json.load(fh)["preprocessing"]["standardize"]
MEAN = torch.tensor(_standardize["mean"])
SCALE = torch.tensor(_standardize["scale"])
torch.set_num_threads(1)
model = SimpleNN(4, 16, 3)
model.load_state_dict(torch.load(f"{MODEL_DIR}/iris-mlp/1/model.pt", weights_only=True))
model.eval()
app = FastAPI()


class Features(BaseModel):
    features: list[float] = Field(min_length=4, max_length=4)


@app.post("/predict")
def predict(body: Features):
    x = (torch.tensor([body.features], dtype=torch.float32) - MEAN) / SCALE
    with torch.inference_mode():
        probs = torch.softmax(model(x), dim=1)[0].tolist()
    class_id = max(range(3), key=probs.__getitem__)
    return {"prediction": LABELS[class_id], "class_id": class_id, "confidence": probs[class_id],
            "probabilities": dict(zip(LABELS, probs, strict=False))}
