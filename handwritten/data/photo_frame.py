"""What a photo adds to the writer's ink, and how it is told apart: the picture's own edges.

A canvas or a scan has a plain border, which says at once whether the ink is dark or light. A
phone's photo of a sheet may not: the paper darkens towards the corners (vignetting), a shadow
crosses it, the table shows beside the sheet. There the ink's polarity is read from the whole
image, the table is painted over with the paper's level before the background is estimated,
and what is left of the picture's edges after it (a sheet's edge across the whole photo, a
patch of shadow in a corner) is cleared (`handwritten.data.ink` calls these in turn). The
paper's grain (its pixel-to-pixel noise) is measured here too: unlike the spread of its levels,
it does not count the light.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from handwritten.data.order_statistics import median, percentile, percentiles

PLAIN_BORDER = 0.1  # a border whose levels spread this little (5 to 95 percentile) is plain
INK_TAIL = 0.05  # percentile of an image's extreme levels that stand for its ink
FRAME_BAND = 0.25  # ink across a whole photo in a band this thin is the sheet's edge
TABLE_EDGE = 4  # px of the table's blurred edge covered with the paper's level
FAINT = 0.5  # a patch in a corner at most this bright (of the brightest ink) is shadow


def border(array: np.ndarray) -> np.ndarray:
    """The pixels of an image's border: strips a fiftieth of its shorter side wide."""
    width = max(1, min(array.shape) // 50)
    return np.concatenate(
        [
            array[:width].ravel(),
            array[-width:].ravel(),
            array[:, :width].ravel(),
            array[:, -width:].ravel(),
        ]
    )


def grain(strips: np.ndarray) -> float:
    """The paper's pixel-to-pixel noise (sigma): the MAD of differences between neighbours
    along the border's `strips` (`border`), over the square root of 2. Unlike a MAD of the
    levels, it does not count light that brightens one side of the paper a little (too little
    for `UNEVEN_LIGHTING`): with that taken for noise, six sigmas of it hid a plain dark digit."""
    differences = np.abs(np.diff(strips))
    return float(1.4826 * median(differences) / np.sqrt(2.0))


def plain_polarity(gray: np.ndarray) -> bool | None:
    """Whether the ink is dark, when a plain border says it at once (a canvas, evenly lit
    paper: its levels spread little and lie clearly to one side of mid-grey), else None."""
    low, middle, high = percentiles(border(gray), (5, 50, 95))
    if high - low <= PLAIN_BORDER and abs(middle - 0.5) >= 0.2:
        return middle > 0.5
    return None


def tail_polarity(gray: np.ndarray) -> bool:
    """Whether the ink is dark, from the whole image: the ink is the minority that lies far
    from the image's median level (`INK_TAIL`: fewer pixels than a small thin digit has, more
    than a few hot ones), so the side with the longer tail is the ink. A photo's border may
    not be plain: paper darkened towards the corners (vignetting), a shadow, the table around
    the sheet; a border darkened below mid-grey read the lit paper as the ink."""
    darkest, level, brightest = percentiles(gray.ravel(), (INK_TAIL, 50, 100 - INK_TAIL))
    return level - darkest > brightest - level


def _sides_reached(down: slice, across: slice, shape: tuple[int, ...]) -> tuple[bool, ...]:
    """Which sides of the picture (top, bottom, left, right) a box reaches, within 2% of them."""
    rows, cols = shape
    margin = max(2, round(0.02 * min(rows, cols)))
    return (down.start <= margin, down.stop >= rows - margin,
            across.start <= margin, across.stop >= cols - margin)  # fmt: skip


def _spans_a_side(down: slice, across: slice, shape: tuple[int, ...]) -> bool:
    """Whether a box runs from one side of the picture to the other (within 2% of them) in a
    band at most `FRAME_BAND` of the picture thick."""
    top, bottom, left, right = _sides_reached(down, across, shape)
    tall, wide = down.stop - down.start, across.stop - across.start
    spans_rows = top and bottom and wide <= FRAME_BAND * shape[1]
    return spans_rows or (left and right and tall <= FRAME_BAND * shape[0])


def _corner_patch(down: slice, across: slice, levels: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Whether a piece of ink (its pixels' `levels`, against the brightest ink's 1) reaches
    two sides of the picture (within 2% of them), fills at least half its box and is faint
    (`FAINT` at its median): a patch of shadow in a corner, where the background could not
    follow the shadow's edge, is dimmer than ink. Strokes leave most of their box empty; a
    thin stroke that reaches two sides is kept (a large 5 drawn from the left side to the
    bottom), and so is a thick dark digit cut off in a corner."""
    sides = sum(_sides_reached(down, across, shape))
    solid = levels.size >= 0.5 * (down.stop - down.start) * (across.stop - across.start)
    return sides >= 2 and solid and median(levels) < FAINT


def without_the_table(ink: np.ndarray, least: float) -> None:
    """Where a photo shows the table beyond the sheet (a band along one side as dark as ink,
    `_spans_a_side`, when anything stands `least` or more above the paper's level), put the
    paper's level there instead, in place, before the background is estimated: the band's
    edge would be left behind as lines of ink."""
    level = median(ink.ravel())
    far = percentile(ink.ravel(), 100 - INK_TAIL)
    if far - level < least:  # nothing as dark as ink beyond the paper
        return
    labels, _ = ndimage.label(ink > (level + far) / 2)
    for number, (down, across) in enumerate(ndimage.find_objects(labels), 1):
        if _spans_a_side(down, across, ink.shape):
            top, left = max(0, down.start - TABLE_EDGE), max(0, across.start - TABLE_EDGE)
            grown = (slice(top, down.stop + TABLE_EDGE), slice(left, across.stop + TABLE_EDGE))
            band = ndimage.binary_dilation(labels[grown] == number, iterations=TABLE_EDGE)
            ink[grown][band] = level


def without_frame_lines(work: np.ndarray) -> bool:
    """Clear the ink that is the picture's, not the writer's: from one side to the other in a
    thin band (`_spans_a_side`: the edge of the sheet or the table beyond it, a ruled line; a
    digit drawn that large reaches across the other way too, a 7's bar along the top and its
    stem), or a solid patch between two sides (`_corner_patch`: shadow in a corner). Whether
    anything was cleared."""
    labels, _ = ndimage.label(work > 0)
    brightest = max(float(work.max()), 1e-6)
    cleared = False
    for number, (down, across) in enumerate(ndimage.find_objects(labels), 1):
        own = labels[down, across] == number
        patch = _corner_patch(down, across, work[down, across][own] / brightest, work.shape)
        if patch or _spans_a_side(down, across, work.shape):
            work[down, across][own] = 0.0
            cleared = True
    return cleared
