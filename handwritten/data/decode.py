"""Reading and decoding image files within fixed bounds, whatever someone hands us.

A file is read only if it is a regular file whose `stat` size is within the limit (a device
or a FIFO is refused before any byte is read); the pixel count comes from the header before
anything is decoded; and a large image is decoded reduced: JPEG at 1/2, 1/4 or 1/8 scale by
the decoder itself (`Image.draft`), other formats block-averaged right after decoding
(`Image.reduce`), before any full-size array is made. Preprocessing works at 560 pixels anyway,
so a 40-megapixel PNG costs its decoded buffer once instead of ~1.2 GB of float arrays.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from handwritten.storage.files import InputFileError, read_regular_file

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
WORK_SIDE = 560  # preprocessing reduces larger images to this: the answer is 28x28 anyway
# Decoded images keep at least twice the working side, so reducing them first changes little.
DECODE_SIDE = 2 * WORK_SIDE

# `Image.reduce` averages these directly (it premultiplies alpha itself); others are converted
# first: a palette index or a 1-bit value cannot be averaged.
_REDUCIBLE = {"L", "LA", "RGB", "RGBA", "CMYK", "I", "F"}
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")
_ORIENTATION = {  # EXIF orientation -> the transpose that makes the image upright
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}  # fmt: skip


class ImageError(ValueError):
    """The input cannot be read as an image; the message is fit to show a user."""


def decode_image(data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES) -> np.ndarray:
    """Decode image bytes into RGBA uint8, upright (EXIF), any mode normalised; images with a
    side over `DECODE_SIDE` come back reduced by a whole factor."""
    if not data:
        raise ImageError("the file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise ImageError(
            f"the file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(
                    f"the image is {width}x{height} pixels; the limit is {MAX_PIXELS / 1e6:.0f} "
                    "megapixels"
                )
            return _decode_upright(image)
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageError("this is not an image PIL can read (PNG, JPEG, GIF, BMP, WebP…)") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("the image is too large to decode safely (decompression bomb)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"the image is damaged or truncated ({exc})") from exc


def _decode_upright(image: Image.Image) -> np.ndarray:
    """Decode (reduced when large) and turn upright; an image this small is left as is."""
    factor = max(image.size) // DECODE_SIDE
    if factor < 2:
        image.load()
        return image_to_rgba(ImageOps.exif_transpose(image))
    orientation = image.getexif().get(ExifTags.Base.Orientation)
    if image.format == "JPEG":  # the decoder itself scales by 1/2, 1/4 or 1/8
        image.draft(None, (image.size[0] // factor, image.size[1] // factor))
    image.load()
    full_scale = 65535.0 if image.mode in _SIXTEEN_BIT else None
    if image.mode not in _REDUCIBLE:
        image = image.convert("I" if full_scale else "L" if image.mode == "1" else "RGBA")
    factor = max(image.size) // DECODE_SIDE
    if factor >= 2:
        image = image.reduce(factor)
    if orientation in _ORIENTATION:
        image = image.transpose(_ORIENTATION[orientation])
    return image_to_rgba(image, full_scale=full_scale)


def image_to_rgba(image: Image.Image, *, full_scale: float | None = None) -> np.ndarray:
    """Any PIL mode (16-bit, CMYK, palette, LA, 1-bit, float) to RGBA uint8.

    `full_scale` is white for an integer image that was 16-bit before it was reduced.
    """
    if image.mode in (*_SIXTEEN_BIT, "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(values.max()), 1.0)
        if image.mode == "F" and values.max() <= 1.0:
            top = 1.0
        gray = np.clip(values / (full_scale or top) * 255.0, 0, 255).astype(np.uint8)
        image = Image.fromarray(gray, mode="L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    return np.asarray(image.convert("RGBA"), dtype=np.uint8).copy()


def load_image(path: Path) -> np.ndarray:
    """Read an image file as RGBA uint8 (a regular file within the size limit, checked before
    reading); errors name the file."""
    try:
        data = read_regular_file(Path(path), MAX_UPLOAD_BYTES)
    except InputFileError as exc:
        raise ImageError(str(exc)) from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        return decode_image(data)
    except ImageError as exc:
        raise ImageError(f"{path}: {exc}") from exc
