"""Generated handwriting styles that MNIST lacks, to test and demonstrate fine-tuning.

``seven_segment`` draws digits the way a digital clock shows them, as someone would sketch
them on the canvas: separate straight strokes with small gaps, a random size, slant, stroke
width and jitter. It is one consistent style, far from MNIST's.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

SEGMENTS = {
    0: "abcdef", 1: "bc", 2: "abged", 3: "abgcd", 4: "fgbc",
    5: "afgcd", 6: "afgedc", 7: "abc", 8: "abcdefg", 9: "abcdfg",
}  # fmt: skip


def seven_segment(digit: int, rng: np.random.Generator, size: int = 280) -> np.ndarray:
    """A canvas payload (size, size, 4) RGBA: white strokes on a transparent background."""
    height = rng.uniform(0.45, 0.8) * size
    width = height * rng.uniform(0.45, 0.65)
    slant = rng.uniform(-0.2, 0.2)
    stroke = int(rng.uniform(0.045, 0.09) * size)
    gap = rng.uniform(0.03, 0.07) * height
    left = rng.uniform(0.05 * size, size - width - 0.05 * size - abs(slant) * height)
    top = rng.uniform(0.05 * size, size - height - 0.05 * size)
    if slant > 0:
        left += slant * height

    def point(x: float, y: float) -> tuple[float, float]:
        jitter = rng.normal(0, 0.012 * size, 2)
        return (
            left + x * width - slant * (y - 0.5) * height + jitter[0],
            top + y * height + jitter[1],
        )

    g = gap / height
    gx = gap / width
    ends = {
        "a": ((gx, 0), (1 - gx, 0)), "g": ((gx, 0.5), (1 - gx, 0.5)), "d": ((gx, 1), (1 - gx, 1)),
        "f": ((0, g), (0, 0.5 - g)), "b": ((1, g), (1, 0.5 - g)),
        "e": ((0, 0.5 + g), (0, 1 - g)), "c": ((1, 0.5 + g), (1, 1 - g)),
    }  # fmt: skip
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    for segment in SEGMENTS[digit]:
        start, end = ends[segment]
        pen.line([point(*start), point(*end)], fill=(255, 255, 255, 255), width=stroke)
    return np.asarray(image)
