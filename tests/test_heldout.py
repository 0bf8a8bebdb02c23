"""The held-out tail of MNIST train is the last images, and the rest is everything before."""

from __future__ import annotations

import numpy as np

from handwritten.data.heldout import split_off
from handwritten.data.mnist import Split


def test_split_off_keeps_the_last_images_apart() -> None:
    split = Split(np.arange(10 * 4, dtype=np.uint8).reshape(10, 2, 2), np.arange(10))
    rest, tail = split_off(split, 3)
    assert list(rest.labels_n) == list(range(7)) and list(tail.labels_n) == [7, 8, 9]
    np.testing.assert_array_equal(tail.images_nhw, split.images_nhw[7:])
    assert len(split_off(split, 0)[1]) == 0 and len(split_off(split, 99)[0]) == 0
