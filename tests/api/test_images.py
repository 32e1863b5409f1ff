"""digits-cnn over HTTP: PNG and JPEG uploads, base64 and data-URL bodies, and every refusal."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from inference.train import _split, digits_data

PATH = "/models/digits-cnn/predict"


def digit_picture(values, fmt="PNG", scale=10):
    """Render an 8x8 digit (0..16, 16 = ink) as dark ink on white paper, upscaled, as bytes."""
    grey = (255 - np.asarray(values).reshape(8, 8) / 16 * 255).round().astype(np.uint8)
    image = Image.fromarray(grey, "L").resize((8 * scale, 8 * scale), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return out.getvalue()


@pytest.fixture(scope="module")
def test_digits(app):
    """Held-out digits that the model classifies right from their raw pixel values."""
    _, x_test, _, y_test = _split(*digits_data())
    predictor = app.extensions["dataplane"].registry.get("digits-cnn")
    right = predictor.predict(x_test).argmax(1) == y_test
    return [(x, str(y)) for x, y, ok in zip(x_test, y_test, right, strict=False) if ok][:10]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_uploaded_digit_comes_back_with_its_class(client, test_digits, fmt):
    hits = 0
    for values, label in test_digits:
        data = {"file": (io.BytesIO(digit_picture(values, fmt)), f"digit.{fmt.lower()}")}
        r = client.post(PATH, data=data, content_type="multipart/form-data")
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        hits += body["prediction"] == label
        assert set(body) == {"model", "version", "prediction", "class_id", "confidence", "top_5",
                             "inference_time_ms"}
        assert len(body["top_5"]) == 5 and list(body["top_5"])[0] == body["prediction"]
        assert body["confidence"] == body["top_5"][body["prediction"]]
        assert body["inference_time_ms"] >= 0
        assert r.headers["X-Model-Name"] == "digits-cnn"
    assert hits == len(test_digits)


def test_base64_and_data_url_bodies(client, test_digits):
    values, label = test_digits[0]
    encoded = base64.b64encode(digit_picture(values)).decode()
    for image in (encoded, f"data:image/png;base64,{encoded}"):
        r = client.post(PATH, json={"image": image})
        assert r.status_code == 200 and r.get_json()["prediction"] == label


def test_light_ink_on_dark_background_is_not_inverted(client, test_digits):
    values, label = test_digits[1]
    grey = (np.asarray(values).reshape(8, 8) / 16 * 255).round().astype(np.uint8)  # white ink, black paper
    out = io.BytesIO()
    Image.fromarray(grey, "L").resize((64, 64), Image.Resampling.NEAREST).save(out, "PNG")
    r = client.post(PATH, json={"image": base64.b64encode(out.getvalue()).decode()})
    assert r.get_json()["prediction"] == label


def _error(r, status, code):
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.get_json()["code"] == code
    return r.get_json()


def test_refusals(client, make_app):
    corrupt = b"\x89PNG\r\n\x1a\n" + b"\0garbage" * 20
    _error(client.post(PATH, data={"file": (io.BytesIO(corrupt), "x.png")}, content_type="multipart/form-data"),
           400, "invalid_image")
    _error(client.post(PATH, data={"file": (io.BytesIO(b"just some text"), "notes.png")},
                       content_type="multipart/form-data"), 400, "invalid_image")
    _error(client.post(PATH, data={"other": (io.BytesIO(b"x"), "x.png")}, content_type="multipart/form-data"),
           400, "missing_file")
    _error(client.post(PATH, json={"image": "not base64 !!"}), 400, "invalid_image")
    _error(client.post(PATH, json={"features": [1] * 64}), 400, "invalid_body")
    _error(client.post(PATH, json={}), 400, "validation_error")
    gif = io.BytesIO()
    Image.new("L", (8, 8)).save(gif, "GIF")
    _error(client.post(PATH, json={"image": base64.b64encode(gif.getvalue()).decode()}), 400, "invalid_image")


def test_huge_dimensions_are_413_before_decoding(client):
    big = io.BytesIO()
    Image.new("1", (5000, 5000), 1).save(big, "PNG")  # small file, 25 million pixels
    body = _error(client.post(PATH, data={"file": (io.BytesIO(big.getvalue()), "big.png")},
                              content_type="multipart/form-data"), 413, "image_too_large")
    assert body["details"]["width"] == 5000


def test_tabular_models_refuse_images(client, test_digits):
    encoded = base64.b64encode(digit_picture(test_digits[0][0])).decode()
    body = _error(client.post("/models/iris-mlp/predict", json={"image": encoded}), 400, "invalid_body")
    assert "features" in body["error"]
    r = client.post("/models/iris-mlp/predict", data={"file": (io.BytesIO(b"x"), "x.png")},
                    content_type="multipart/form-data")
    _error(r, 415, "unsupported_media_type")
