"""Regional forms: a share of plain 1s get a flag (sometimes a base), of 7s a cross stroke."""

from __future__ import annotations

import numpy as np

from handwritten.data import regional
from handwritten.data.rendering import mnist_skeleton


def stick(height: int = 80, slant: float = 0.0) -> np.ndarray:
    """A one-pixel plain 1, top to bottom, leaning `slant` columns per row, in a frame wide
    enough that a flag or a base stays inside it."""
    skeleton = np.zeros((height, 100), bool)
    rows = np.arange(height)
    skeleton[rows, np.rint(50 + slant * (rows - height / 2)).astype(int)] = True
    return skeleton


def seven(height: int = 80) -> np.ndarray:
    skeleton = np.zeros((height, 100), bool)
    skeleton[0, 25:75] = True
    rows = np.arange(height)
    skeleton[rows, np.rint(74 - 30 * rows / height).astype(int)] = True
    return skeleton


def _added(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    assert after.shape == before.shape and (after & before).sum() == before.sum()
    return after & ~before


def regional_forms(skeleton: np.ndarray, label: int, heights: range) -> list[np.ndarray]:
    """What each pen height's regional form added to the skeleton, for those that got one."""
    forms = [regional.regional(skeleton, label, float(h)) for h in heights]
    return [_added(skeleton, after) for after in forms if after is not skeleton]


def test_other_digits_are_drawn_as_they_are() -> None:
    skeleton = stick()
    for label in (0, 2, 3, 4, 5, 6, 8, 9):
        assert regional.regional(skeleton, label, 100.0) is skeleton


def test_the_form_is_decided_by_the_digit_and_the_pen_alone() -> None:
    skeleton = stick()
    first = [regional.regional(skeleton, 1, float(h)) for h in range(40, 80)]
    again = [regional.regional(skeleton, 1, float(h)) for h in range(40, 80)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))


def test_a_share_of_plain_ones_get_a_flag_down_and_to_the_left_of_the_top() -> None:
    flags = regional_forms(stick(), 1, range(30, 330))
    for added in flags:
        rows, cols = np.nonzero(added)
        flag = rows < 79  # a base lies on the bottom row
        assert flag.sum() >= 6  # the shortest flag, 15% of the height, less the stem it meets
        assert cols[flag].max() <= 50 and rows[flag].max() > 5  # left of the top, and lower
    assert 0.3 < len(flags) / 300 < 0.5  # FLAG_SHARE is 0.4


def test_a_flag_follows_the_stems_slant() -> None:
    """A 1 leaning back (top left) gets its flag to the stem's left too, not a "^"."""
    for added in regional_forms(stick(slant=-0.3), 1, range(30, 130)):
        rows, cols = np.nonzero(added)
        flag = rows < 79
        top_col = 50 + 0.3 * 40  # the leaning stem's top
        assert cols[flag].max() <= top_col and rows[flag].max() < 0.45 * 80


def test_a_one_that_has_a_flag_already_gets_none() -> None:
    skeleton = stick()
    skeleton[np.arange(16), 50 - np.arange(16)] = True  # a flag from the top
    assert all(regional.regional(skeleton, 1, float(h)) is skeleton for h in range(30, 130))


def test_a_share_of_sevens_are_crossed_midway() -> None:
    crosses = regional_forms(seven(), 7, range(30, 330))
    for added in crosses:
        rows, cols = np.nonzero(added)
        assert 0.3 * 80 < rows.mean() < 0.7 * 80 and np.ptp(cols) > 0.25 * 80
    assert 0.2 < len(crosses) / 300 < 0.4  # CROSSED_SHARE is 0.3


def test_an_mnist_one_keeps_its_pen_paths() -> None:
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 13:15] = 255
    skeleton = mnist_skeleton(digit)
    for height in range(30, 60):
        after = regional.regional(skeleton, 1, float(height))
        assert after.sum() >= skeleton.sum()
