"""Brush drawing and thinning, against hand-computed shapes."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from handwritten.data.strokes import draw_paths, skeleton_segments, thin


def test_thin_bar_is_its_centre_line() -> None:
    mask = np.zeros((20, 50), bool)
    mask[6:15, 5:45] = True  # a 9-pixel-thick bar: its skeleton is row 10
    skeleton = thin(mask)
    rows = np.flatnonzero(skeleton.any(axis=1))
    assert set(rows) <= {9, 10, 11}
    assert skeleton[10, 12:38].all()  # the middle of the centre line survives whole
    assert ndimage.label(skeleton, structure=np.ones((3, 3)))[1] == 1


def test_thin_ring_keeps_its_hole() -> None:
    yy, xx = np.mgrid[:60, :60]
    radius = np.hypot(yy - 30, xx - 30)
    skeleton = thin((radius > 15) & (radius < 22))
    assert ndimage.label(~skeleton)[1] == 2  # still a closed loop: inside and outside
    assert (np.abs(radius[skeleton] - 18.5) <= 2).all()


def test_draw_paths_brush_width_and_round_caps() -> None:
    ink = draw_paths([np.array([[20.0, 30.0], [80.0, 30.0]])], (60, 100), 10)
    assert ink.shape == (60, 100) and ink.max() == 1.0
    column = ink[:, 50]
    assert 9 <= (column >= 0.5).sum() <= 11  # 10 px wide
    row = ink[30]
    assert 14 <= np.flatnonzero(row >= 0.5)[0] <= 16  # the cap reaches 5 px past the end
    dot = draw_paths([np.array([[50.0, 30.0]])], (60, 100), 12)
    assert abs((dot >= 0.5).sum() - np.pi * 36) < 15  # a dot is a disk of the brush


def test_skeleton_segments_link_neighbours() -> None:
    skeleton = np.zeros((5, 5), bool)
    skeleton[2, 1:4] = True
    skeleton[0, 0] = True  # isolated
    segments, dots = skeleton_segments(skeleton)
    assert len(segments) == 2
    assert dots.tolist() == [[0.0, 0.0]]
