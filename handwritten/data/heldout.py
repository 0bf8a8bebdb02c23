"""The held-out tail of MNIST train: the last images, never trained on by the shipped recipe.

Calibration, the "unsure" threshold and every other tuning choice are fitted on them, so MNIST
test stays untouched by any choice.
"""

from __future__ import annotations

from handwritten.data.mnist import Split

HELDOUT_SIZE = 5_000


def split_off(split: Split, n: int) -> tuple[Split, Split]:
    """(all but the last `n` images, the last `n`): training part and held-out part."""
    cut = len(split) - max(0, min(n, len(split)))
    return (
        Split(split.images_nhw[:cut], split.labels_n[:cut]),
        Split(split.images_nhw[cut:], split.labels_n[cut:]),
    )
