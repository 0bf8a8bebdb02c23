"""The ink's pieces: connected strokes measured against the brush, and where digits may touch.

Segmentation works on pieces, not pixels. A piece is a connected component of the ink, or one
side of a cut through a component where two digits may touch (a thin place in its column
profile, or beside an upright stroke at its side: a 1). Everything is measured against the
stroke width: specks far smaller than a brush dab are dropped, pieces about one dab in size
are marked as dots (a stray dot may be left out of a reading), and gaps are compared to it.
Which pieces form which digit is decided elsewhere: by recognition in
`handwritten.recognition.segmentation`, or by the column-overlap rule here when no model is at
hand (`geometric_groups`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from handwritten.data.normalise import DigitCrop, estimate_width, ink_box, normalise_crop

SPECK_AREA = 0.35  # pieces smaller than this many squared stroke widths are specks
DOT_EXTENT = 1.8  # pieces no longer than this many stroke widths are dots
MAX_CUTS = 4  # per component
FRINGE = 2  # px of anti-aliased edge below the ink threshold that belong to a stroke
CUT_HEIGHT = 0.6  # only components at least this share of the tallest are cut
# A column inked down at least this share of its component's height is part of an upright
# stroke: a 1 drawn straight, as people draw it on a canvas.
STICK_HEIGHT = 0.75
# ... and the ink beside it must reach down this share of the height to be a neighbouring digit
# (an h's hump or a 4's arm beside its upright is not).
NEIGHBOUR_HEIGHT = 0.7


@dataclass(frozen=True)
class Piece:
    """One piece: its id in `Pieces.labels`, box (top, left, bottom, right), size, position."""

    index: int
    box: tuple[int, int, int, int]
    area: int
    centre_x: float
    dot: bool
    cut: bool = False  # its left side is a cut through ink (digits that may touch)
    component: int = 0  # the connected component it is (part of)

    @property
    def height(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def width(self) -> int:
        return self.box[3] - self.box[1]


@dataclass
class Pieces:
    """The pieces of one image, left to right by centre, and the stroke width they share."""

    labels: np.ndarray  # int32, 0 for background, else a piece's index
    pieces: list[Piece] = field(default_factory=list)
    stroke_width: float = 0.0  # pixels of the ink image
    specks: int = 0  # how many specks were dropped
    owner: np.ndarray | None = None  # `labels` grown by `FRINGE` px: who owns the faint edges

    def box_of(self, members: list[int]) -> tuple[int, int, int, int]:
        boxes = [self.pieces[m].box for m in members]
        return (min(b[0] for b in boxes), min(b[1] for b in boxes),
                max(b[2] for b in boxes), max(b[3] for b in boxes))  # fmt: skip


def _component_stats(labels: np.ndarray, count: int) -> tuple[np.ndarray, list[tuple[slice, ...]]]:
    """Each label's area and box. A few labels are counted inside their boxes (a drawing has a
    handful of strokes, and a count over the whole box took three times as long)."""
    slices = ndimage.find_objects(labels)
    if count > 32:  # specks of a noisy photo
        return np.bincount(labels.ravel(), minlength=count + 1)[1:], slices
    counts = [np.count_nonzero(labels[where] == n) for n, where in enumerate(slices, 1)]
    return np.array(counts, np.intp), slices


def _cut_columns(component: np.ndarray, width: float) -> list[int]:
    """Columns (relative to the component's box) where touching digits may be parted, in a
    component about as wide as tall or wider: thin places of its column profile, and where
    it would part into two digits of equal width; in one much wider than tall, also at its
    thirds and quarters (three digits, or a wide digit beside a narrow one), since round digits
    touching side by side leave no thin column; and in any component, beside an upright stroke
    at one side (`_stick_cuts`: a 1 touching its neighbour). Which cut is right is for
    recognition to say."""
    height, span = component.shape
    if height < 3 * width:
        return []
    if span < 0.8 * height:
        return _stick_cuts(component, width)
    profile = ndimage.uniform_filter1d(component.sum(axis=0).astype(np.float64), max(3, int(width)))
    margin = int(max(1.5 * width, 0.1 * height))
    if span <= 2 * margin:
        return []
    inner = np.arange(margin, span - margin)
    local_min = (
        profile[inner] == ndimage.minimum_filter1d(profile, max(3, int(0.3 * height)))[inner]
    )
    thin = sorted(inner[local_min & (profile[inner] <= 2.0 * width)], key=lambda c: profile[c])

    def parting(parts: int, i: int) -> int | None:
        column = round(span * i / parts)
        return column if margin <= column < span - margin else None

    # Priority: the middle (two digits), the thin places, then thirds and quarters.
    wanted = [parting(2, 1), *(int(c) for c in thin)]
    if span >= 1.2 * height:
        wanted += [parting(3, 1), parting(3, 2), parting(4, 1), parting(4, 3)]
    wanted += _stick_cuts(component, width)
    cuts: list[int] = []
    for column in wanted:
        if column is None or len(cuts) >= MAX_CUTS:
            continue
        if all(abs(column - c) >= 0.15 * height for c in cuts):
            cuts.append(column)
    return sorted(cuts)


def _stick_cuts(component: np.ndarray, width: float) -> list[int]:
    """Where a 1 touching its neighbour may be parted from it: beside a band of columns at
    either side of the component, each inked down most of its height (an upright stroke),
    with more ink beyond it. A band about one stroke wide is the 1 itself, parted at its inner
    edge; one about two strokes wide is the 1 against its neighbour's upright side (a "10"),
    parted in its middle; either only where the ink beyond it is about as tall as the 1 (a
    digit, not an h's hump). A 1 beside its neighbour leaves no thin column, and the pair is
    often narrower than tall."""
    height, span = component.shape
    upright = component.sum(axis=0) >= STICK_HEIGHT * height
    cuts = []
    for from_right, columns in ((False, upright), (True, upright[::-1])):
        band = span if columns.all() else int(np.argmin(columns))  # upright columns that side
        if not (0.5 * width <= band <= 2.5 * width and span - band >= 1.5 * width):
            continue
        depth = round(band / 2) if band >= 1.5 * width else band
        column = span - depth if from_right else depth
        rest = component[:, :column] if from_right else component[:, column:]
        rows = np.flatnonzero(rest.any(axis=1))
        if rows[-1] - rows[0] + 1 >= NEIGHBOUR_HEIGHT * height:
            cuts.append(column)
    return cuts


def find_pieces(mask: np.ndarray, *, cut: bool = True) -> Pieces:
    """The pieces of a binary ink mask: specks dropped, dots marked, components as tall as a
    digit and about as wide cut where digits may touch (when `cut`; a 7's detached bar is
    wide but short, so never cut), sorted left to right by centre. The work is done inside
    the ink's box (a drawing rarely fills its canvas); boxes are in `mask`'s pixels."""
    box = ink_box(mask)
    if box is None:
        return Pieces(np.zeros(mask.shape, np.int32))
    local_mask = mask[box]
    components, count = ndimage.label(local_mask, structure=np.ones((3, 3), bool))
    width = estimate_width(local_mask)
    areas, slices = _component_stats(components, count)
    keep_min = max(4.0, SPECK_AREA * width * width, 0.01 * float(areas.max()))
    tallest = max(where[0].stop - where[0].start for where in slices)
    local = np.zeros(local_mask.shape, np.int32)
    was_cut: list[bool] = []
    component_of: list[int] = []
    specks = 0
    for number, (area, where) in enumerate(zip(areas, slices, strict=True), 1):
        if area < keep_min:
            specks += 1
            continue
        own = components[where] == number
        tall = own.shape[0] >= CUT_HEIGHT * tallest
        edges = [0, *(_cut_columns(own, width) if cut and tall else []), own.shape[1]]
        for side, (start, stop) in enumerate(itertools.pairwise(edges)):
            part = own if len(edges) == 2 else _columns_of(own, start, stop)
            if part.any():
                was_cut.append(side > 0)
                component_of.append(number)
                local[where][part] = len(was_cut)
    labels = np.zeros(mask.shape, np.int32)
    labels[box] = local
    count = len(was_cut)
    if count == 0:
        return Pieces(labels, [], width, specks)
    if specks == 0 and not any(was_cut):  # the pieces are the components
        piece_areas, piece_slices = areas, slices
    else:
        piece_areas, piece_slices = _component_stats(local, count)
    top, left = box[0].start, box[1].start
    pieces = []
    for number, where in enumerate(piece_slices, 1):
        box_of = (where[0].start + top, where[1].start + left,
                  where[0].stop + top, where[1].stop + left)  # fmt: skip
        extent = max(box_of[2] - box_of[0], box_of[3] - box_of[1])
        dot = extent <= DOT_EXTENT * width and not was_cut[number - 1]
        area = int(piece_areas[number - 1])
        pieces.append(
            Piece(number, box_of, area, _column_sum(local, number, where, left) / area, dot,
                  was_cut[number - 1], component_of[number - 1])
        )  # fmt: skip
    pieces.sort(key=lambda p: p.centre_x)
    return Pieces(labels, pieces, width, specks, _owners(labels, box, count))


def _columns_of(own: np.ndarray, start: int, stop: int) -> np.ndarray:
    part = np.zeros_like(own)
    part[:, start:stop] = own[:, start:stop]
    return part


def _column_sum(local: np.ndarray, number: int, where: tuple[slice, ...], left: int) -> int:
    """The sum of the columns of piece `number`'s pixels (`left` is `local`'s first column),
    counted column by column inside its box: an exact integer, so the mean column is the same
    as a weighted `np.bincount` over the whole image gives, at a fraction of the cost."""
    counts = np.count_nonzero(local[where] == number, axis=0)
    columns = np.arange(where[1].start + left, where[1].stop + left)
    return int(counts @ columns)


def _rings(reach: int) -> list[list[tuple[int, int]]]:
    """The offsets within `reach` px (Euclidean), grouped by distance, nearest first."""
    offsets = [(dr, dc) for dr in range(-reach, reach + 1) for dc in range(-reach, reach + 1)
               if 0 < dr * dr + dc * dc <= reach * reach]  # fmt: skip
    by_distance: dict[int, list[tuple[int, int]]] = {}
    for dr, dc in offsets:
        by_distance.setdefault(dr * dr + dc * dc, []).append((dr, dc))
    return [by_distance[d] for d in sorted(by_distance)]


_RINGS = _rings(FRINGE)


def _owners(
    labels: np.ndarray, box: tuple[slice, slice] | None = None, count: int | None = None
) -> np.ndarray:
    """Each pixel within `FRINGE` px of a piece belongs to the nearest piece (computed once,
    so a candidate digit's crop needs no dilation of its own). The rings of offsets within
    `FRINGE` px are taken nearest first, and where two pieces are equally near the lower label
    wins: the owners of a distance transform with indices (which breaks such ties its own way),
    five times faster. A pixel's claim is one unsigned number, its ring above its label, so the
    smallest claim over all rings is the owner (background is all ones: it never wins). `box`
    holds every piece and `count` is the highest label, when known."""
    box = box or ink_box(labels != 0)
    owner = np.zeros_like(labels)
    if box is None:
        return owner
    top, left = max(0, box[0].start - FRINGE), max(0, box[1].start - FRINGE)
    bottom, right = box[0].stop + FRINGE, box[1].stop + FRINGE
    highest = int(labels.max()) if count is None else count
    bits, kind = (12, np.uint16) if highest < (1 << 12) - 1 else (24, np.uint32)
    nobody = np.iinfo(kind).max
    claims = (labels[top:bottom, left:right] - 1).astype(kind)  # background: -1, all ones
    rows, cols = claims.shape
    padded = np.full((rows + 2 * FRINGE, cols + 2 * FRINGE), nobody, kind)
    padded[FRINGE : FRINGE + rows, FRINGE : FRINGE + cols] = claims
    grown = claims.copy()
    near = np.empty_like(claims)
    for distance, ring in enumerate(_RINGS, 1):
        near.fill(nobody)
        for dr, dc in ring:
            np.minimum(near, padded[FRINGE + dr : FRINGE + dr + rows,
                                    FRINGE + dc : FRINGE + dc + cols], out=near)  # fmt: skip
        near |= kind(distance << bits)  # all ones (nobody) stays all ones
        np.minimum(grown, near, out=grown)
    np.add(grown, kind(1), out=grown)  # label - 1 back to the label; nobody's wraps to 0
    np.bitwise_and(grown, kind((1 << bits) - 1), out=grown)
    owner[top:bottom, left:right] = grown
    return owner


def crop_group(ink: np.ndarray, found: Pieces, members: list[int]) -> DigitCrop:
    """One candidate digit (pieces `members`, positions in `found.pieces`) to the model input:
    its ink with the anti-aliased fringe, and no ink of any other piece."""
    top, left, bottom, right = found.box_of(members)
    owner = found.owner if found.owner is not None else _owners(found.labels)
    local = owner[top:bottom, left:right]
    region = local == found.pieces[members[0]].index
    for m in members[1:]:
        region |= local == found.pieces[m].index
    cropped = np.where(region, ink[top:bottom, left:right], np.float32(0.0))
    return normalise_crop(cropped.astype(np.float32, copy=False), (top, left, bottom, right))


def geometric_groups(found: Pieces) -> list[list[int]]:
    """Digits without a model: the parts of a cut component stay together, and components
    whose column ranges overlap by half of the narrower one belong together (a 5's hat, a 4's
    two strokes); a dot joins the digit whose box it touches or is dropped. Positions in
    `found.pieces`, left to right."""
    components: dict[int, list[int]] = {}
    for position, piece in enumerate(found.pieces):
        if not piece.dot:
            components.setdefault(piece.component, []).append(position)
    groups: list[list[int]] = []
    ranges: list[tuple[int, int]] = []
    for members in sorted(components.values(), key=lambda m: found.box_of(m)[1]):
        _, left, _, right = found.box_of(members)
        for index, (g_left, g_right) in enumerate(ranges):
            overlap = min(right, g_right) - max(left, g_left)
            if overlap >= 0.5 * min(right - left, g_right - g_left):
                groups[index].extend(members)
                ranges[index] = (min(left, g_left), max(right, g_right))
                break
        else:
            groups.append(list(members))
            ranges.append((left, right))
    _attach_dots(found, groups)
    if not groups and found.pieces:  # only dots: read them as they are
        groups = [[p] for p in range(len(found.pieces))]
    order = sorted(range(len(groups)), key=lambda g: found.box_of(groups[g])[1])
    return [sorted(groups[g]) for g in order]


def _attach_dots(found: Pieces, groups: list[list[int]]) -> None:
    """A dot within a stroke width of a digit's box belongs to it (a broken-off bit)."""
    reach = found.stroke_width
    for position, piece in enumerate(found.pieces):
        if not piece.dot:
            continue
        middle = (piece.box[0] + piece.box[2]) / 2
        for group in groups:
            top, left, bottom, right = found.box_of(group)
            if (
                left - reach <= piece.centre_x <= right + reach
                and top - reach <= middle <= bottom + reach
            ):
                group.append(position)
                break
