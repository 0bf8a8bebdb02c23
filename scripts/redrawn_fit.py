"""How well a model reads the pen's renders it trained on, against renders it never saw.

Usage: python scripts/redrawn_fit.py [--model default] [--count 1500]

The realistic sets and the redrawn training bank share one pen (`handwritten.data.rendering`),
and its accidents (broken strokes, detached parts, flags) can leave a render no reader could
name. A model that reads the very renders it trained on no better than new ones is not short
of capacity or epochs: what it misses there is mostly the pen's doing. This prints the
accuracy (top output among the ten digits) on three sets of renders drawn alone (the parted
quarter of the bank is skipped):

- ``trained``: the first `count` digits of the default recipe's bank (`redrawn.chosen(16000,
  0, ...)` with each digit's own generator, seed 0): exactly the images the recipe trained on;
- ``new renders``: the same MNIST training digits drawn again with another seed;
- ``held out``: the held-out MNIST training digits, drawn the same way.
"""

from __future__ import annotations

import argparse

import numpy as np

from handwritten.data.heldout import HELDOUT_SIZE, split_off
from handwritten.data.mnist import Split, load_split
from handwritten.recognition.predictor import Predictor
from handwritten.training import redrawn
from handwritten.training.config import PRESETS


def renders(
    digits: Split, order: np.ndarray, seed: int, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """The alone-drawn renders among the first `count` of `order`, as the bank draws them."""
    alone = [k for k in range(count) if not redrawn.is_parted(seed, k)]
    images = [redrawn.redrawing(digits, int(order[k]), seed, k, parted=False) for k in alone]
    labels = digits.labels_n[order[alone]].astype(np.int64)
    return np.stack(images).astype(np.float32) / 255, labels


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--count", type=int, default=1500)
    args = parser.parse_args()
    predictor = Predictor.load(args.model)
    recipe = PRESETS["default"]
    train, held = split_off(load_split("train"), HELDOUT_SIZE)
    bank_order = redrawn.chosen(recipe.redrawn, recipe.seed, train)
    for name, digits, order, seed in [
        ("trained", train, bank_order, recipe.seed),
        ("new renders", train, bank_order, recipe.seed + 7),
        ("held out", held, np.arange(len(held)), recipe.seed),
    ]:
        images, labels = renders(digits, order, seed, args.count)
        read = predictor.log_probabilities(images)[:, :10].argmax(axis=1)
        print(f"{name}: {np.mean(read == labels):.2%} of {len(labels)}")


if __name__ == "__main__":
    main()
