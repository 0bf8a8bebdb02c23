"""Ink photographed as a phone takes it: pen or pencil on paper, the light, the table, JPEG.

The realistic sets' photos (`handwritten.evaluation.realistic`) put a drawing's ink
(`handwritten.data.rendering`) on paper lit from one side, darkened towards the corners or half
in a shadow, sometimes with the table showing beside the sheet; then noise, blur and JPEG.
Everything is drawn from an explicit `numpy` generator, as the drawings are.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter


def photo_of(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """JPEG bytes: `ink` in pen or pencil on paper as a phone sees it (`_lit_paper`: lit from
    one side, darkened towards the corners, or across a shadow's edge), sometimes with the
    table showing beside the sheet, noisy, slightly blurred."""
    height, width = ink.shape
    paper = _lit_paper(rng, height, width)
    image = paper * (1 - ink) + rng.uniform(0.05, 0.45) * paper * ink
    if rng.random() < 0.2:
        _table_beside(image, ink, rng)
    image = image + rng.normal(0, rng.uniform(0.005, 0.03), image.shape)
    tint = rng.uniform(0.9, 1.05, 3)
    rgb = np.clip(image[..., None] * tint * 255, 0, 255).astype(np.uint8)
    picture = Image.fromarray(rgb, mode="RGB").filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.5)))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=int(rng.integers(40, 92)))
    return buffer.getvalue()


def _lit_paper(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """The paper's level under a phone's light: lit from one side (more or less), darkened
    towards the corners (vignetting), or half in a shadow with a soft or sharp edge."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(0.65, 0.95)
    light = rng.random()
    if light < 0.6:  # from one side
        angle = rng.uniform(0, 2 * np.pi)
        ramp = np.cos(angle) * xx / width + np.sin(angle) * yy / height
        return base - rng.uniform(0.0, 0.4) * (ramp - ramp.min()) / np.ptp(ramp)
    if light < 0.8:  # vignetting
        distance = np.hypot(xx / width - 0.5, yy / height - 0.5)
        return base - rng.uniform(0.1, 0.4) * distance / distance.max()
    angle = rng.uniform(0, 2 * np.pi)  # a shadow's edge across the sheet
    across = np.cos(angle) * (xx - width / 2) + np.sin(angle) * (yy - height / 2)
    edge = 1 / (1 + np.exp(-np.clip(across / rng.uniform(5, 40), -50, 50)))
    return base - rng.uniform(0.15, 0.35) * edge


def _table_beside(image: np.ndarray, ink: np.ndarray, rng: np.random.Generator) -> None:
    """The table beyond the sheet's edge, dark, along the side of `image` furthest from the
    ink (the ink is on the sheet), in place."""
    height, width = ink.shape
    rows = np.flatnonzero(ink.max(axis=1) > 0.05)
    cols = np.flatnonzero(ink.max(axis=0) > 0.05)
    room = [cols[0] / width, 1 - cols[-1] / width, rows[0] / height, 1 - rows[-1] / height]
    side = int(np.argmax(room))
    share = min(room[side] - 0.01, rng.uniform(0.05, 0.2))
    if share <= 0.02:
        return
    table = rng.uniform(0.05, 0.35)
    band = max(1, int(share * (width if side < 2 else height)))
    if side == 0:
        image[:, :band] = table
    elif side == 1:
        image[:, -band:] = table
    elif side == 2:
        image[:band] = table
    else:
        image[-band:] = table


def photo_paper(rng: np.random.Generator) -> tuple[int, int]:
    """A phone photo's size (rows, cols)."""
    height = int(rng.integers(240, 900))
    return height, int(height * rng.uniform(0.8, 1.5))
