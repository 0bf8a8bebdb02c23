"""What the Data page shows about MNIST itself, computed without Streamlit: class balance, mean
images, and pages of one class for the browser."""

from __future__ import annotations

import numpy as np

from handwritten.evaluation.metrics import N_CLASSES

PER_PAGE = 40  # examples per page of the class browser


# ---------------------------------------------------------------------------------------------
# The data set


def class_counts(labels_n: np.ndarray) -> np.ndarray:
    """How many images of each digit: int (10,)."""
    return np.bincount(np.asarray(labels_n, np.int64), minlength=N_CLASSES)


def mean_images(images_nhw: np.ndarray, labels_n: np.ndarray) -> np.ndarray:
    """The average image of each digit, float32 (10, H, W) in [0, 1]; black for an absent digit."""
    images = np.asarray(images_nhw)
    labels = np.asarray(labels_n)
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    means = np.zeros((N_CLASSES, *images.shape[1:]), np.float32)
    for digit in range(N_CLASSES):
        members = images[labels == digit]
        if len(members):
            means[digit] = members.mean(axis=0) / scale
    return means


def page_count(labels_n: np.ndarray, digit: int, per_page: int = PER_PAGE) -> int:
    """Pages of `per_page` images of `digit` (at least 1, so a page number is always valid)."""
    return max(1, -(-int(class_counts(labels_n)[digit]) // per_page))


def class_page(labels_n: np.ndarray, digit: int, page: int, per_page: int = PER_PAGE) -> np.ndarray:
    """Indices of the images of `digit`, in data-set order, on 0-based `page` (clamped)."""
    indices = np.flatnonzero(np.asarray(labels_n) == digit)
    page = min(max(page, 0), page_count(labels_n, digit, per_page) - 1)
    return indices[page * per_page : (page + 1) * per_page]
