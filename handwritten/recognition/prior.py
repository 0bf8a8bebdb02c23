"""The prior over readings: what segmentation by recognition charges a grouping for.

One dataclass, so that the candidates (`handwritten.recognition.candidates`: how far apart a
digit's pieces may be, how many strokes it may hold), the dynamic programme
(`handwritten.recognition.segmentation`) and the tuning that fits it on held-out sets
(`handwritten.evaluation.tuning`) read one set of numbers, kept in a model's metadata.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Prior:
    """The prior over readings, in log-probability units (tuned on held-out sets only)."""

    per_digit: float = 2.0  # each digit read costs this: fewer digits unless the ink says so
    not_a_digit: float = 3.0  # further cost of reading a group as "not a digit"
    # ... and per unit of width / height above 1 (a wide group is more likely two digits)
    wide_not_a_digit: float = 0.0
    cut: float = 1.5  # parting one connected component between two digits
    skip_dot: float = 1.0  # leaving a dot or a stray mark (`skippable`) out of the reading
    wide: float = 2.0  # per unit of width / height above `wide_from`
    wide_from: float = 1.3
    gap: float = 1.0  # per stroke width of side-by-side gap inside one digit
    # two neighbouring groups sharing columns, per share of the narrower one's width (people
    # write digits side by side: a 5's hat or a 4's stroke overlaps its own digit)
    overlap: float = 0.0
    # weight of a group's log-probability against the costs above: above 1, a group read
    # weakly loses more (two touching digits read as one unsure digit lose to the two read
    # surely, whose extra digit costs `per_digit`)
    sharpness: float = 1.0
    max_components: int = 5  # connected strokes in one digit at most (a cut one counts once)
    max_parts: int = 10  # pieces (the parts of cut strokes each count) in one digit at most
    max_gap: float = 1.5  # stroke widths between a digit's pieces (side by side) at most
    max_candidates: int = 256  # beyond this many candidate groups, read the geometric groups

    @classmethod
    def of(cls, meta: dict[str, Any] | None) -> Prior:
        """The prior tuned for a model (``meta["segmentation"]``), else the defaults."""
        values = (meta or {}).get("segmentation") or {}
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def to_meta(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
