"""Things people draw that are not digits, drawn as strokes: letters, symbols, shapes, faces,
scribbles.

People draw letters by hand, not in a typeface, so every glyph here is a set of pen paths in a
unit box (x right, y down) that is then drawn the way a hand draws: a wobble along each stroke,
strokes that stop short of each other or overshoot, a slant, a stretch and a random brush.
Glyphs that a person would draw exactly like a digit are left out on purpose (O/o like 0, I, l,
i, |, / and ! like 1, S/s like 5, B like 8, b like 6, g/q like 9, a lone circle like 0): no
reader can call those "not a digit". Some templates are kept out of training (`HELD_OUT`) so
that the not-a-digit figure also measures shapes the model never saw.
"""

from __future__ import annotations

import numpy as np

from handwritten.data.glyphs import DYNAMIC, STATIC, Paths
from handwritten.data.strokes import draw_paths

FAMILIES = ("letter", "symbol", "shape", "face", "scribble")


# Seen only in the reported not-a-digit set, never in training or tuning.
HELD_OUT = ("K", "R", "h", "ampersand", "pi", "diamond", "cloud", "surprised", "loops")


NAMES = tuple(STATIC) + tuple(DYNAMIC)
TRAINING_NAMES = tuple(n for n in NAMES if n not in HELD_OUT)


def family_of(name: str) -> str:
    return STATIC[name][0] if name in STATIC else DYNAMIC[name][0]


def glyph_paths(name: str, rng: np.random.Generator) -> Paths:
    """The template's pen paths in the unit box."""
    if name in STATIC:
        return [p.copy() for p in STATIC[name][1]]
    return DYNAMIC[name][1](rng)


def _densify(path: np.ndarray, step: float = 0.02) -> np.ndarray:
    if len(path) < 2:
        return path
    lengths = np.linalg.norm(np.diff(path, axis=0), axis=1)
    distance = np.concatenate([[0.0], np.cumsum(lengths)])
    samples = np.linspace(0, distance[-1], max(2, int(distance[-1] / step) + 1))
    return np.stack([np.interp(samples, distance, path[:, i]) for i in (0, 1)], 1)


def hand_drawn(paths: Paths, rng: np.random.Generator) -> Paths:
    """Paths as a hand draws them: wobbly, slanted, stretched, ends short or overshooting."""
    angle = np.deg2rad(rng.uniform(-15, 15))
    cos, sin = np.cos(angle), np.sin(angle)
    matrix = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1, rng.uniform(-0.3, 0.3)], [0, 1]])
    matrix = matrix @ np.diag([rng.uniform(0.7, 1.3), 1.0])
    wobble = rng.uniform(0.005, 0.03)
    drawn = []
    for path in paths:
        dense = _densify(path)
        if len(dense) > 3 and rng.random() < 0.3:  # stop short of the next stroke
            trim = int(len(dense) * rng.uniform(0.0, 0.08))
            dense = dense[trim : len(dense) - int(len(dense) * rng.uniform(0.0, 0.08))]
        # A smooth wobble: random offsets every quarter unit along the stroke, interpolated.
        knots = max(2, int(len(dense) * 0.02 / 0.25) + 2)
        offsets = rng.normal(0, wobble, (knots, 2))
        where = np.linspace(0, knots - 1, len(dense))
        noise = np.stack([np.interp(where, np.arange(knots), offsets[:, i]) for i in (0, 1)], 1)
        drawn.append((dense + noise - 0.5) @ matrix.T + 0.5)
    return drawn


def draw_glyph(
    paths: Paths, size: tuple[int, int], rng: np.random.Generator, *, height: float | None = None
) -> np.ndarray:
    """Ink in [0, 1] of shape `size`: the paths scaled to `height` px, placed anywhere, drawn with
    a random round brush 5 to 40 px wide (at most a fifth of the glyph's height)."""
    points = np.concatenate(paths)
    low, high = points.min(axis=0), points.max(axis=0)
    side = min(size)
    if height is None:
        height = float(np.exp(rng.uniform(np.log(0.15 * side), np.log(0.9 * side))))
    scale = height / max(high[1] - low[1], 0.2)
    extent = (high - low) * scale
    if extent[0] > 0.95 * size[1]:
        scale *= 0.95 * size[1] / extent[0]
        extent = (high - low) * scale
    width = float(np.clip(np.exp(rng.uniform(np.log(5), np.log(40))), 2.5, max(3.0, 0.2 * height)))
    offset = np.array(
        [rng.uniform(width, max(width + 1, size[1] - extent[0] - width)),
         rng.uniform(width, max(width + 1, size[0] - extent[1] - width))]
    )  # fmt: skip
    placed = [(p - low) * scale + offset for p in paths]
    return draw_paths(placed, size, width)


def draw_nondigit(
    rng: np.random.Generator, size: tuple[int, int], names: tuple[str, ...] = NAMES
) -> tuple[np.ndarray, str]:
    """A random non-digit from `names`, hand drawn: (ink in [0, 1], its template name)."""
    name = names[int(rng.integers(len(names)))]
    return draw_glyph(hand_drawn(glyph_paths(name, rng), rng), size, rng), name
