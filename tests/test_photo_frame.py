"""A photo's own edges told from the writer's ink (`handwritten.data.photo_frame`)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from handwritten.data import photo_frame


def _box_of(mask: np.ndarray) -> tuple[slice, slice]:
    (box,) = ndimage.find_objects(mask.astype(np.int32))
    return box


def test_a_faint_solid_patch_in_a_corner_is_the_pictures_and_a_stroke_there_the_writers() -> None:
    rows, cols = np.mgrid[0:300, 0:400]
    corner = (rows > 220) & (cols > 330) & (rows - 220 > 0.5 * (400 - cols))  # a shadow's corner
    stroke = np.zeros((300, 400), bool)  # a thin stroke from the left side to the bottom
    for t in np.linspace(0, 1, 400):
        r, c = int(150 + 149 * t), int(2 + 200 * t * (1 - t))
        stroke[max(0, r - 2) : r + 2, max(0, c - 2) : c + 2] = True
    side_blob = (rows < 60) & (cols > 150) & (cols < 220)  # solid, but at one side only
    cases = (
        (corner, 0.3, True),
        (corner, 0.9, False),
        (stroke, 0.3, False),
        (side_blob, 0.3, False),
    )
    for mask, level, expected in cases:  # a dark patch in a corner: a thick digit cut off
        down, across = _box_of(mask)
        levels = np.full(int(mask.sum()), level)
        assert photo_frame._corner_patch(down, across, levels, mask.shape) is expected
