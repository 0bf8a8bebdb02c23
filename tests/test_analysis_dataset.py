"""MNIST statistics for the Data page, against plain numpy."""

from __future__ import annotations

import numpy as np
import pytest

from handwritten.analysis import dataset


def test_class_counts_include_absent_digits() -> None:
    counts = dataset.class_counts(np.array([3, 3, 0, 9], np.uint8))
    assert counts.tolist() == [1, 0, 0, 2, 0, 0, 0, 0, 0, 1]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_mean_images_match_a_per_class_numpy_mean(dtype: type) -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 9, 200).astype(np.uint8)  # no 9s
    images = rng.integers(0, 256, (200, 5, 4)).astype(np.uint8)
    given = images if dtype == np.uint8 else (images / 255.0).astype(dtype)
    means = dataset.mean_images(given, labels)
    assert means.shape == (10, 5, 4) and means.dtype == np.float32
    for digit in range(9):
        expected = images[labels == digit].astype(np.float64).mean(axis=0) / 255.0
        np.testing.assert_allclose(means[digit], expected, rtol=1e-5, atol=1e-6)
    assert not means[9].any()  # an absent digit is black, not NaN


def test_class_pages_cover_every_image_once_and_clamp() -> None:
    labels = np.array([3, 1, 3, 3, 0, 3, 3], np.uint8)
    assert dataset.page_count(labels, 3, per_page=2) == 3
    pages = [dataset.class_page(labels, 3, page, per_page=2) for page in range(3)]
    assert [p.tolist() for p in pages] == [[0, 2], [3, 5], [6]]
    assert dataset.class_page(labels, 3, 99, per_page=2).tolist() == [6]
    assert dataset.class_page(labels, 3, -1, per_page=2).tolist() == [0, 2]
    assert dataset.page_count(labels, 7) == 1
    assert dataset.class_page(labels, 7, 0).tolist() == []
