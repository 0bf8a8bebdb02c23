"""Generated training images, drawn once and kept on disk.

Drawing thousands of images by hand-made strokes takes a minute or more on a busy CPU, and a
recipe asks for the same ones every time (deterministic in count, seed and the digits they
come from), so each bank is cached under ``$HANDWRITTEN_HOME/cache/`` by a digest of those.
A damaged or mismatched cache file is drawn again, never trusted. While a bank is drawn its
generator tells how far it got (`report_drawn`), so a first run shows progress, and can be
stopped, instead of sitting at step 0 for a minute and a half.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import numpy as np

from handwritten.data.mnist import Split
from handwritten.storage.files import atomic_write_bytes
from handwritten.storage.paths import home_dir

DrawnFn = Callable[[int], None]
"""Told how many images of a bank are drawn so far; it may raise to stop the drawing."""
REPORT_EVERY = 250  # images between two reports: about a second of drawing on a busy CPU


def report_drawn(on_drawn: DrawnFn | None, done: int, total: int) -> None:
    """Tell `on_drawn` every `REPORT_EVERY` images, and once the last is drawn."""
    if on_drawn is not None and (done % REPORT_EVERY == 0 or done == total):
        on_drawn(done)


def cached_bank(
    kind: str, count: int, seed: int, sources: list[Split], draw: Callable[[], np.ndarray]
) -> np.ndarray:
    """`draw()` (uint8, (count, 28, 28)), read from the cache when the same bank of `kind`
    was drawn before from the same `sources` (the digits it is made from, in order) with the
    same `count` and `seed`."""
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(f"{kind}-{count}-{seed}-{len(sources[0])}".encode())
    for index, source in enumerate(sources):
        if index:  # the first source's size is in the line above (the first banks' key)
            digest.update(f"-{len(source)}".encode())
        sample = source.images_nhw[:: max(1, len(source) // 512)]
        digest.update(np.ascontiguousarray(sample).tobytes())
    name = kind.split("-")[0]
    path = home_dir() / "cache" / f"{name}-{digest.hexdigest()[:16]}.npy"
    if path.is_file():
        try:
            cached = np.load(path)
            if cached.shape == (count, 28, 28) and cached.dtype == np.uint8:
                return cached
        except (OSError, ValueError):
            pass
    images = draw()
    buffer = io.BytesIO()
    np.save(buffer, images)
    atomic_write_bytes(path, buffer.getvalue())
    return images
