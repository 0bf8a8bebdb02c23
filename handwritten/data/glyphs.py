"""Pen paths of things that are not digits: letters, symbols, shapes, faces, scribbles.

Each template is a list of pen paths (K, 2) in a unit box, x right and y down, as a person
would draw the glyph stroke by stroke; faces and scribbles are drawn afresh from a generator.
`handwritten.data.nondigits` draws them by hand. Glyphs a person draws exactly like a digit are
not here (see that module).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Paths = list[np.ndarray]


def _line(*points: tuple[float, float]) -> np.ndarray:
    return np.array(points, np.float64)


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> np.ndarray:
    """Points on an elliptical arc, angles in degrees (0 = right, 90 = down)."""
    angles = np.deg2rad(np.linspace(start, end, max(8, int(abs(end - start) / 8))))
    return np.stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)], 1)


L = _line
# The bowl of a P, an R's too: across the top, round the right, back to the stem.
_P_BOWL = np.concatenate(
    [L((0.15, 0), (0.55, 0)), _arc(0.55, 0.25, 0.3, 0.25, -90, 90), L((0.55, 0.5), (0.15, 0.5))]
)
STATIC: dict[str, tuple[str, Paths]] = {
    "A": ("letter", [L((0, 1), (0.5, 0), (1, 1)), L((0.22, 0.6), (0.78, 0.6))]),
    "C": ("letter", [_arc(0.55, 0.5, 0.45, 0.5, -50, -310)]),
    "E": ("letter", [L((0.9, 0), (0.1, 0), (0.1, 1), (0.9, 1)), L((0.1, 0.5), (0.7, 0.5))]),
    "F": ("letter", [L((0.9, 0), (0.1, 0), (0.1, 1)), L((0.1, 0.48), (0.7, 0.48))]),
    "H": ("letter", [L((0.1, 0), (0.1, 1)), L((0.9, 0), (0.9, 1)), L((0.1, 0.5), (0.9, 0.5))]),
    "J": (
        "letter",
        [
            L((0.2, 0), (0.9, 0)),
            np.concatenate([L((0.6, 0), (0.6, 0.7)), _arc(0.35, 0.7, 0.25, 0.3, 0, 160)]),
        ],
    ),
    "K": ("letter", [L((0.15, 0), (0.15, 1)), L((0.85, 0), (0.15, 0.55), (0.9, 1))]),
    "L": ("letter", [L((0.15, 0), (0.15, 1), (0.85, 1))]),
    "M": ("letter", [L((0, 1), (0.1, 0), (0.5, 0.7), (0.9, 0), (1, 1))]),
    "N": ("letter", [L((0.1, 1), (0.1, 0), (0.9, 1), (0.9, 0))]),
    "P": (
        "letter",
        [
            L((0.15, 1), (0.15, 0)),
            _P_BOWL,
        ],
    ),
    "R": (
        "letter",
        [
            L((0.15, 1), (0.15, 0)),
            _P_BOWL,
            L((0.45, 0.5), (0.9, 1)),
        ],
    ),
    "T": ("letter", [L((0, 0), (1, 0)), L((0.5, 0), (0.5, 1))]),
    "U": (
        "letter",
        [
            np.concatenate(
                [L((0.1, 0), (0.1, 0.6)), _arc(0.5, 0.6, 0.4, 0.4, 180, 0), L((0.9, 0.6), (0.9, 0))]
            )
        ],
    ),
    "V": ("letter", [L((0, 0), (0.5, 1), (1, 0))]),
    "W": ("letter", [L((0, 0), (0.25, 1), (0.5, 0.3), (0.75, 1), (1, 0))]),
    "X": ("letter", [L((0, 0), (1, 1)), L((1, 0), (0, 1))]),
    "Y": ("letter", [L((0, 0), (0.5, 0.5), (1, 0)), L((0.5, 0.5), (0.5, 1))]),
    "Z": ("letter", [L((0.05, 0), (0.95, 0), (0.05, 1), (0.95, 1))]),
    "e": (
        "letter",
        [np.concatenate([L((0.1, 0.55), (0.9, 0.55)), _arc(0.5, 0.55, 0.4, 0.42, 0, -300)])],
    ),
    "h": (
        "letter",
        [
            L((0.15, 0), (0.15, 1)),
            np.concatenate([_arc(0.5, 0.6, 0.35, 0.3, 180, 360), L((0.85, 0.6), (0.85, 1))]),
        ],
    ),
    "k": ("letter", [L((0.2, 0), (0.2, 1)), L((0.8, 0.35), (0.2, 0.7), (0.85, 1))]),
    "m": (
        "letter",
        [
            np.concatenate(
                [
                    L((0.05, 1), (0.05, 0.3)),
                    _arc(0.275, 0.45, 0.225, 0.25, 180, 360),
                    L((0.5, 0.45), (0.5, 1)),
                ]
            ),
            np.concatenate([_arc(0.725, 0.45, 0.225, 0.25, 180, 360), L((0.95, 0.45), (0.95, 1))]),
        ],
    ),
    "n": (
        "letter",
        [
            np.concatenate(
                [
                    L((0.1, 1), (0.1, 0.2)),
                    _arc(0.5, 0.5, 0.4, 0.3, 180, 360),
                    L((0.9, 0.5), (0.9, 1)),
                ]
            )
        ],
    ),
    "r": ("letter", [L((0.25, 1), (0.25, 0.1)), _arc(0.6, 0.45, 0.35, 0.35, 180, 290)]),
    "t": (
        "letter",
        [
            np.concatenate([L((0.45, 0), (0.45, 0.8)), _arc(0.65, 0.8, 0.2, 0.2, 180, 60)]),
            L((0.1, 0.3), (0.85, 0.3)),
        ],
    ),
    "u": (
        "letter",
        [
            np.concatenate(
                [
                    L((0.1, 0.1), (0.1, 0.6)),
                    _arc(0.5, 0.6, 0.4, 0.4, 180, 0),
                    L((0.9, 0.6), (0.9, 0.1), (0.9, 1)),
                ]
            )
        ],
    ),
    "w": ("letter", [L((0, 0.2), (0.25, 1), (0.5, 0.45), (0.75, 1), (1, 0.2))]),
    "f": (
        "letter",
        [
            np.concatenate([_arc(0.7, 0.25, 0.25, 0.25, -10, -180), L((0.45, 0.25), (0.45, 1))]),
            L((0.15, 0.45), (0.8, 0.45)),
        ],
    ),
    "plus": ("symbol", [L((0.5, 0), (0.5, 1)), L((0, 0.5), (1, 0.5))]),
    "minus": ("symbol", [L((0, 0.5), (1, 0.5))]),
    "equals": ("symbol", [L((0, 0.3), (1, 0.3)), L((0, 0.7), (1, 0.7))]),
    "hash": (
        "symbol",
        [
            L((0.35, 0), (0.25, 1)),
            L((0.75, 0), (0.65, 1)),
            L((0, 0.33), (1, 0.33)),
            L((0, 0.67), (1, 0.67)),
        ],
    ),
    "percent": (
        "symbol",
        [
            L((0.9, 0), (0.1, 1)),
            _arc(0.2, 0.18, 0.16, 0.18, 0, 360),
            _arc(0.8, 0.82, 0.16, 0.18, 0, 360),
        ],
    ),
    "at": (
        "symbol",
        [
            np.concatenate(
                [
                    _arc(0.5, 0.5, 0.2, 0.22, 0, 360),
                    L((0.7, 0.5), (0.75, 0.7)),
                    _arc(0.5, 0.5, 0.48, 0.5, 40, -270),
                ]
            )
        ],
    ),
    "ampersand": (
        "symbol",
        [
            np.concatenate(
                [
                    L((0.95, 1), (0.3, 0.4)),
                    _arc(0.45, 0.2, 0.2, 0.2, 140, -140),
                    L((0.55, 0.35), (0.15, 0.65)),
                    _arc(0.4, 0.75, 0.27, 0.25, 200, 70),
                    L((0.55, 0.97), (0.95, 0.55)),
                ]
            )
        ],
    ),
    "dollar": (
        "symbol",
        [
            np.concatenate(
                [_arc(0.5, 0.28, 0.38, 0.25, -20, -270), _arc(0.5, 0.73, 0.38, 0.25, -90, 160)]
            ),
            L((0.5, -0.1), (0.5, 1.1)),
        ],
    ),
    "question": (
        "symbol",
        [
            np.concatenate([_arc(0.5, 0.28, 0.35, 0.28, 190, 420), L((0.55, 0.55), (0.5, 0.75))]),
            L((0.5, 0.97), (0.5, 0.98)),
        ],
    ),
    "asterisk": (
        "symbol",
        [L((0.5, 0), (0.5, 1)), L((0.07, 0.25), (0.93, 0.75)), L((0.93, 0.25), (0.07, 0.75))],
    ),
    "less": ("symbol", [L((0.9, 0.1), (0.1, 0.5), (0.9, 0.9))]),
    "greater": ("symbol", [L((0.1, 0.1), (0.9, 0.5), (0.1, 0.9))]),
    "arrow": ("symbol", [L((0, 0.5), (1, 0.5)), L((0.7, 0.2), (1, 0.5), (0.7, 0.8))]),
    "check": ("symbol", [L((0, 0.55), (0.35, 1), (1, 0))]),
    "tilde": (
        "symbol",
        [
            np.concatenate(
                [_arc(0.25, 0.5, 0.25, 0.25, 180, 360), _arc(0.75, 0.5, 0.25, 0.25, 180, 0)]
            )
        ],
    ),
    "infinity": (
        "symbol",
        [
            np.concatenate(
                [_arc(0.25, 0.5, 0.25, 0.3, 0, 360), _arc(0.75, 0.5, 0.25, 0.3, 180, -180)]
            )
        ],
    ),
    "pi": ("symbol", [L((0, 0.1), (1, 0.1)), L((0.3, 0.1), (0.25, 1)), L((0.7, 0.1), (0.75, 1))]),
    "sigma": ("symbol", [L((0.9, 0), (0.1, 0), (0.55, 0.5), (0.1, 1), (0.9, 1))]),
    "caret": ("symbol", [L((0.1, 0.9), (0.5, 0.1), (0.9, 0.9))]),
    "star": (
        "shape",
        [
            np.array(
                [
                    (0.5 + 0.5 * np.sin(a), 0.55 - 0.5 * np.cos(a))
                    for a in np.deg2rad(np.arange(0, 721, 144))
                ]
            )
        ],
    ),
    "triangle": ("shape", [L((0.5, 0), (1, 1), (0, 1), (0.5, 0))]),
    "square": ("shape", [L((0, 0), (1, 0), (1, 1), (0, 1), (0, 0))]),
    "diamond": ("shape", [L((0.5, 0), (1, 0.5), (0.5, 1), (0, 0.5), (0.5, 0))]),
    "heart": (
        "shape",
        [
            np.concatenate(
                [
                    L((0.5, 1), (0.05, 0.45)),
                    _arc(0.27, 0.3, 0.25, 0.25, 150, 360),
                    _arc(0.73, 0.3, 0.25, 0.25, 180, 390),
                    L((0.95, 0.45), (0.5, 1)),
                ]
            )
        ],
    ),
    "house": (
        "shape",
        [L((0.1, 0.45), (0.1, 1), (0.9, 1), (0.9, 0.45)), L((0, 0.5), (0.5, 0), (1, 0.5))],
    ),
    "spiral": (
        "shape",
        [
            np.stack([0.5 + t / 25 * np.cos(t), 0.5 + t / 25 * np.sin(t)], 1)
            for t in [np.linspace(0, 4 * np.pi, 80)]
        ],
    ),
    "lightning": ("shape", [L((0.6, 0), (0.2, 0.55), (0.6, 0.5), (0.3, 1))]),
    "sun": (
        "shape",
        [_arc(0.5, 0.5, 0.25, 0.25, 0, 360)]
        + [
            L(
                (0.5 + 0.32 * np.cos(a), 0.5 + 0.32 * np.sin(a)),
                (0.5 + 0.5 * np.cos(a), 0.5 + 0.5 * np.sin(a)),
            )
            for a in np.deg2rad(np.arange(0, 360, 45))
        ],
    ),
    "cloud": (
        "shape",
        [
            np.concatenate(
                [
                    _arc(0.2, 0.65, 0.2, 0.2, 90, 270),
                    _arc(0.45, 0.4, 0.25, 0.25, 190, 330),
                    _arc(0.75, 0.55, 0.22, 0.22, 250, 450),
                    L((0.75, 0.77), (0.2, 0.85)),
                ]
            )
        ],
    ),
    "moon": (
        "shape",
        [
            np.concatenate(
                [_arc(0.5, 0.5, 0.5, 0.5, 60, 300), _arc(0.75, 0.5, 0.35, 0.45, 240, 120)]
            )
        ],
    ),
    "flower": (
        "shape",
        [
            _arc(0.5 + 0.28 * np.cos(a), 0.5 + 0.28 * np.sin(a), 0.18, 0.18, 0, 360)
            for a in np.deg2rad(np.arange(0, 360, 72))
        ],
    ),
}


def _face(rng: np.random.Generator, mouth: str) -> Paths:
    eye_y = rng.uniform(0.3, 0.42)
    paths = [_arc(0.5, 0.5, 0.5, 0.5, 0, 360)]
    for x in (0.33, 0.67):
        paths.append(L((x, eye_y), (x + 0.01, eye_y + 0.02)))
    if mouth == "smile":
        paths.append(_arc(0.5, 0.55, 0.25, 0.2, 20, 160))
    elif mouth == "sad":
        paths.append(_arc(0.5, 0.85, 0.22, 0.15, 200, 340))
    elif mouth == "surprised":
        paths.append(_arc(0.5, 0.7, 0.1, 0.1, 0, 360))
    else:
        paths.append(L((0.32, 0.7), (0.68, 0.7)))
    return paths


def _scribble(rng: np.random.Generator, kind: str) -> Paths:
    if kind == "zigzag":
        count = int(rng.integers(4, 9))
        xs = np.linspace(0, 1, count)
        return [np.stack([xs, np.where(np.arange(count) % 2, 0.1, 0.9)], 1)]
    if kind == "loops":
        t = np.linspace(0, 2 * np.pi * rng.integers(3, 6), 160)
        return [np.stack([t / t.max() + 0.12 * np.cos(t), 0.5 + 0.35 * np.sin(t)], 1)]
    if kind == "hatching":
        count = int(rng.integers(3, 7))
        return [L((x, 0.0), (x + 0.3, 1.0)) for x in np.linspace(0, 0.7, count)]
    points = rng.uniform(0, 1, (int(rng.integers(6, 14)), 2))  # a tangle
    t = np.linspace(0, 1, 12 * len(points))
    return [
        np.stack([np.interp(t, np.linspace(0, 1, len(points)), points[:, i]) for i in (0, 1)], 1)
    ]


DYNAMIC: dict[str, tuple[str, Callable[[np.random.Generator], Paths]]] = {
    "smiley": ("face", lambda rng: _face(rng, "smile")),
    "sad": ("face", lambda rng: _face(rng, "sad")),
    "surprised": ("face", lambda rng: _face(rng, "surprised")),
    "neutral": ("face", lambda rng: _face(rng, "neutral")),
    "zigzag": ("scribble", lambda rng: _scribble(rng, "zigzag")),
    "loops": ("scribble", lambda rng: _scribble(rng, "loops")),
    "hatching": ("scribble", lambda rng: _scribble(rng, "hatching")),
    "tangle": ("scribble", lambda rng: _scribble(rng, "tangle")),
}
