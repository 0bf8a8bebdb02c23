"""The ink's pieces: specks, dots, cuts where digits touch, and grouping without a model."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from handwritten.data.pieces import (
    FRINGE,
    _owners,
    _stick_cuts,
    crop_group,
    find_pieces,
    geometric_groups,
)


def ink_of(strokes: list[list[tuple[int, int]]], width: int = 16, size=(320, 320)) -> np.ndarray:
    image = Image.new("L", (size[1], size[0]), 0)
    draw = ImageDraw.Draw(image)
    for points in strokes:
        if len(points) == 1:
            (x, y), r = points[0], width / 2
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
        else:
            draw.line(points, fill=255, width=width, joint="curve")
    return np.asarray(image, np.float32) / 255


def test_columns_and_overlap_group_like_before() -> None:
    mask = np.zeros((40, 100), bool)
    mask[5:35, 10:14] = True  # a 1
    mask[5:8, 40:60] = True  # a 5's hat ...
    mask[12:35, 40:60] = True  # ... over its body
    mask[5:35, 80:84] = True  # another 1
    found = find_pieces(mask)
    groups = geometric_groups(found)
    assert [found.box_of(g) for g in groups] == [(5, 10, 35, 14), (5, 40, 35, 60), (5, 80, 35, 84)]


def test_specks_far_smaller_than_a_stroke_are_dropped_dots_kept() -> None:
    ink = ink_of([[(100, 60), (100, 260)], [(160, 150)]], width=16)
    ink[20:22, 250:252] = 1.0  # dust: 4 px against a 16 px brush
    found = find_pieces(ink >= 0.35)
    assert found.specks == 1
    assert 12 <= found.stroke_width <= 18
    stick, dot = sorted(found.pieces, key=lambda p: p.area, reverse=True)
    assert not stick.dot and dot.dot
    assert geometric_groups(found) == [[0]]  # a stray dot beside the stick is left out


def test_touching_digits_are_cut_at_the_thin_join() -> None:
    def zero(dx: int) -> list[tuple[int, int]]:
        return [(x + dx, y) for x, y in [(80, 60), (125, 100), (130, 200), (80, 250), (35, 200),
                                          (38, 100), (80, 60)]]  # fmt: skip

    found = find_pieces(ink_of([zero(0), zero(94)], width=14, size=(320, 420)) >= 0.35)
    cuts = [p.box[1] for p in found.pieces if p.cut]
    assert any(115 <= c <= 140 for c in cuts)  # "00" touching: a cut where they touch
    alone = find_pieces(ink_of([zero(0)], width=14) >= 0.35)
    assert len(alone.pieces) == 1  # narrower than tall: never cut


def test_a_one_touching_its_neighbour_is_cut_beside_it() -> None:
    """By hand, a 10 px stroke in a 180 px tall component: columns inked down 75% of the height
    or more are upright. A 1 against a 0's upright left side is a band of 20 such columns,
    parted in its middle; a 1 at the end of a 2's base is a band of 10, parted at its inner
    edge; a lone stick, a stroke three brushes thick, ink with no upright side and an h (the ink
    beside its upright not as tall as a digit) are not."""
    ten = np.zeros((180, 90), bool)
    ten[:, 0:20] = True  # the 1 and the 0's left side
    ten[0:10, 10:90] = ten[170:180, 10:90] = True  # the 0's top and bottom
    ten[40:140, 80:90] = True  # its right side: 100 of 180 rows, not upright enough
    assert _stick_cuts(ten, 10.0) == [10]
    twenty_one = np.zeros((180, 100), bool)
    twenty_one[0:10, 0:60] = twenty_one[170:180, 0:90] = True  # a 2's top and base
    twenty_one[:, 90:100] = True  # the 1
    assert _stick_cuts(twenty_one, 10.0) == [90]
    assert _stick_cuts(np.ones((180, 12), bool), 10.0) == []
    thick = np.zeros((180, 90), bool)
    thick[:, 0:30] = thick[0:10, :] = True
    assert _stick_cuts(thick, 10.0) == []
    diagonal = np.eye(180, 90, dtype=bool) | np.eye(180, 90, 1, dtype=bool)
    assert _stick_cuts(diagonal, 10.0) == []
    # An h: the ink beside its upright (the hump, rows 80 to 180) is no digit's height.
    h = np.zeros((180, 90), bool)
    h[:, 0:10] = h[80:90, 10:90] = h[80:, 80:90] = True
    assert _stick_cuts(h, 10.0) == []


def test_a_group_crop_holds_only_its_own_pieces() -> None:
    ink = ink_of([[(60, 60), (60, 260)], [(200, 60), (200, 260)]])
    found = find_pieces(ink >= 0.35)
    first = crop_group(ink, found, [0])
    assert first.box[1] < 60 < first.box[3]
    assert first.cropped.shape == (first.box[2] - first.box[0], first.box[3] - first.box[1])
    both = crop_group(ink, found, [0, 1])
    assert both.cropped.sum() > 1.9 * first.cropped.sum()


def test_each_pieces_area_box_and_centre_are_its_pixels() -> None:
    """Checked against the pixels themselves, with and without a cut and a speck (the pieces
    of uncut components reuse the components' measures)."""
    plain = ink_of([[(60, 60), (60, 260)], [(150, 60), (240, 60)], [(150, 120), (240, 250)]])
    ring = [(80, 60), (125, 100), (130, 200), (80, 250), (35, 200), (38, 100), (80, 60)]
    touching = ink_of([ring, [(x + 94, y) for x, y in ring]], width=14, size=(320, 420))
    specked = plain.copy()
    specked[300:302, 300:302] = 1.0
    for image in (plain, touching, specked):
        found = find_pieces(image >= 0.35)
        assert found.pieces
        for piece in found.pieces:
            rows, cols = np.nonzero(found.labels == piece.index)
            assert piece.area == rows.size
            assert piece.box == (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1)
            assert piece.centre_x == cols.sum() / cols.size
    assert any(p.cut for p in find_pieces(touching >= 0.35).pieces)
    assert find_pieces(specked >= 0.35).specks == 1


def _nearest_owner(labels: np.ndarray, reach: int) -> np.ndarray:
    """By definition: each pixel's nearest labelled pixel within `reach` (Euclidean), the
    lower label where two are equally near; 0 where none is within reach."""
    rows, cols = labels.shape
    best = np.full((rows, cols, 2), np.iinfo(np.int64).max, np.int64)  # (distance**2, label)
    framed = np.zeros((rows + 2 * reach, cols + 2 * reach), labels.dtype)
    framed[reach:-reach, reach:-reach] = labels
    for dr in range(-reach, reach + 1):
        for dc in range(-reach, reach + 1):
            if dr * dr + dc * dc > reach * reach:
                continue
            seen = framed[reach + dr : reach + dr + rows, reach + dc : reach + dc + cols]
            claim = np.stack([np.full(seen.shape, dr * dr + dc * dc), seen], axis=2)
            better = (seen > 0) & (
                (claim[..., 0] < best[..., 0])
                | ((claim[..., 0] == best[..., 0]) & (claim[..., 1] < best[..., 1]))
            )
            best[better] = claim[better]
    return np.where(best[..., 0] == np.iinfo(np.int64).max, 0, best[..., 1])


@pytest.mark.parametrize("labels_count", [3, 40, 5000])
def test_faint_edges_belong_to_the_nearest_piece_the_lower_label_on_a_tie(
    labels_count: int,
) -> None:
    rng = np.random.default_rng(labels_count)
    side = 12 if labels_count < 100 else 160
    labels = np.zeros((side, side), np.int32)
    spots = rng.random(labels.shape) < (0.08 if labels_count < 100 else 0.3)
    labels[spots] = rng.integers(1, labels_count + 1, int(spots.sum()))
    assert np.array_equal(_owners(labels), _nearest_owner(labels, FRINGE))
