"""Ink extraction's shortcuts against the whole computation they skip, bit for bit.

A transparent canvas is worked on inside its drawing's box only, a black background is known
without the opening, a saturated maximum without the medians: each must give exactly what the
whole image's computation gives.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from handwritten.data import ink as ink_module
from handwritten.data.ink import drawn_box, extract_ink, luminance


def _canvas(seed: int) -> np.ndarray:
    """Random strokes on a transparent canvas: light or dark, any brush, near or at the edges,
    with anti-aliased (half-transparent) edges and transparent pixels of any colour."""
    rng = np.random.default_rng(seed)
    side = int(rng.choice([64, 200, 320]))
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    for _ in range(int(rng.integers(1, 5))):
        points = [tuple(int(v) for v in rng.integers(-10, side + 10, 2)) for _ in range(3)]
        pen.line(points, fill=(*colour, 255), width=int(rng.integers(2, 45)), joint="curve")
    rgba = np.array(image.resize((side // 2, side // 2), Image.Resampling.BILINEAR))
    if seed % 3 == 0:  # a transparent pixel's colour is not always 0
        rgba[..., :3][rgba[..., 3] == 0] = colour
    return rgba


CANVASES = [_canvas(seed) for seed in range(60)]


@pytest.mark.parametrize("index", range(len(CANVASES)))
def test_a_canvas_worked_on_inside_its_drawing_gives_the_whole_images_answer(index: int) -> None:
    rgba = CANVASES[index]
    drawn = drawn_box(rgba)
    whole_gray = luminance(rgba)
    gray = luminance(rgba, drawn)
    assert np.array_equal(gray, whole_gray)
    whole_ink, whole_inverted, whole_contrast = extract_ink(whole_gray)
    ink, inverted, contrast = extract_ink(gray, drawn)
    assert (inverted, contrast) == (whole_inverted, whole_contrast)
    assert np.array_equal(ink, whole_ink)


def test_the_drawing_box_holds_every_pixel_that_is_not_transparent() -> None:
    rgba = np.zeros((40, 50, 4), np.uint8)
    rgba[5, 7, 3] = 1  # barely visible, black
    rgba[30, 44] = (255, 255, 255, 255)
    rgba[0, 0, :3] = 200  # colour without alpha does not count
    assert drawn_box(rgba) == (slice(5, 31), slice(7, 45))
    assert drawn_box(np.zeros((8, 8, 4), np.uint8)) is None  # nothing drawn
    opaque = np.full((8, 8, 4), 255, np.uint8)
    assert drawn_box(opaque) is None
    assert drawn_box(np.ascontiguousarray(rgba[:, ::-1])) == (slice(5, 31), slice(5, 43))
    assert drawn_box(rgba[:, ::-1]) == (slice(5, 31), slice(5, 43))  # a strided view too


@pytest.mark.parametrize("seed", range(40))
def test_a_background_said_black_is_what_the_opening_gives(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(3, 40, 2))
    side = int(rng.integers(2, 16))
    small = np.zeros(shape, np.float32)
    for _ in range(int(rng.integers(0, 6))):  # lit blocks of any size, at the borders too
        top, left = (int(rng.integers(0, n)) for n in shape)
        tall, wide = (int(rng.integers(1, 12)) for _ in range(2))
        small[top : top + tall, left : left + wide] = rng.uniform(0.1, 1.0)
    opened = ndimage.grey_opening(small, size=(side, side))
    said = ink_module._opens_to_black(small, side)
    if said:
        assert not opened.any()
    if not small.any():
        assert said


def test_a_block_as_large_as_a_corner_window_is_not_said_black() -> None:
    small = np.zeros((30, 30), np.float32)
    small[:7, :7] = 1.0  # a window at the corner sees only these 7 x 7 cells (side 13)
    assert ndimage.grey_opening(small, size=(13, 13)).any()
    assert not ink_module._opens_to_black(small, 13)
    small[0, 0] = 0.0
    assert ink_module._opens_to_black(small, 13)
    assert not ink_module._opens_to_black(small - 0.5, 13)  # below 0: no shortcut


@pytest.mark.parametrize("seed", range(30))
def test_the_robust_maximum_shortcut_agrees_with_the_medians(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ink = (rng.random((20, 30)) < rng.uniform(0.05, 0.9)).astype(np.float32)
    ink *= rng.choice([1.0, 0.5], ink.shape).astype(np.float32)
    # The definition: the maximum where five of a 3x3 window's pixels hold it, else the
    # largest 3x3 median (zeros around the image) at pixels at least half as bright as it.
    brightest = float(ink.max())
    at_max = (ink == brightest).astype(np.uint8)
    if ndimage.convolve(at_max, np.ones((3, 3), np.uint8), mode="constant").max() >= 5:
        expected = brightest
    else:
        medians = ndimage.median_filter(ink, size=3, mode="constant")
        expected = float(medians[ink >= 0.5 * brightest].max())
    assert ink_module._robust_max(ink) == expected
