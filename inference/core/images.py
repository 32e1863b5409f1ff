"""Pictures to model input, the way the training images were made (docs/api.md, "Images").

sklearn's digits are 8x8 counts of ink, 0 (background) to 16 (full ink), made by averaging
blocks of a larger bitmap. So a picture is: decoded by Pillow (PNG or JPEG), turned upright
(EXIF), made grey, resized to the model's size by area averaging (Pillow's BOX filter),
inverted when its background is light (dark ink on white paper: the usual photo or scan;
decided by the mean of the border pixels, or forced by the manifest's ``invert``), and scaled
so that background is 0 and full ink is ``max_value``.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inference.core.errors import BadRequest, PayloadTooLarge

FORMATS = ("PNG", "JPEG")
DATA_URL = re.compile(r"^data:image/[A-Za-z0-9.+-]+;base64,", re.IGNORECASE)


class InvalidImage(BadRequest):
    code = "invalid_image"


class ImageTooLarge(PayloadTooLarge):
    code = "image_too_large"


def decode_base64(text: str) -> bytes:
    """Bytes from base64 text, with or without a ``data:image/...;base64,`` prefix."""
    payload = DATA_URL.sub("", text.strip(), count=1)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage("'image' is not valid base64", {"image": ["Not valid base64."]}) from None


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """Open PNG or JPEG bytes, refusing anything over ``max_pixels`` before decoding the pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLarge(f"the image is {width}x{height} pixels; the limit is {max_pixels} "
                                    "(MAX_IMAGE_PIXELS)", {"width": width, "height": height, "max_pixels": max_pixels})
            if image.format not in FORMATS:
                raise InvalidImage(f"unsupported image format {image.format}; send PNG or JPEG")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(f"the image exceeds the pixel limit of {max_pixels} (MAX_IMAGE_PIXELS)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"the file is not a decodable PNG or JPEG image ({type(exc).__name__})") from None
    return image


def to_row(image: Image.Image, spec: dict[str, Any]) -> np.ndarray:
    """One row of ``width * height`` values, background 0, full ink ``spec['max_value']``."""
    grey = ImageOps.exif_transpose(image).convert("L")
    small = np.asarray(grey.resize((spec["width"], spec["height"]), Image.Resampling.BOX), dtype=np.float64)
    invert = spec.get("invert", "auto")
    if invert == "always" or (invert == "auto" and _background_is_light(np.asarray(grey))):
        small = 255.0 - small
    return (small / 255.0 * spec["max_value"]).reshape(1, -1)


def _background_is_light(pixels: np.ndarray) -> bool:
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return bool(border.mean() > 127.5)


def image_to_matrix(data: bytes, spec: dict[str, Any], max_pixels: int) -> np.ndarray:
    """Bytes of a picture -> a (1, width*height) float matrix for the model."""
    return to_row(open_image(data, max_pixels), spec)
