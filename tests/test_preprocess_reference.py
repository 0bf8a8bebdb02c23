"""The preprocessing pipeline against a recording of itself before it was made fast.

`tests/data/preprocess_reference.npz` holds what the pipeline of commit 71f28a9 (13 ms for a
320x320 canvas) gave for the drawings built below: each input's reason, ink pieces (boxes,
dots, stroke width), geometric groups, model inputs, and the 28x28 crop of every candidate
digit that segmentation by recognition reads. The faster pipeline must give the same: the same
pieces and groups exactly, and images within float rounding, except where a faint edge pixel
lies exactly as near to two pieces (a tie that the old distance transform and the new rings
of offsets break differently; one pixel in 3,906 candidate crops on the held-out sets).

Regenerate (only on purpose, from the pipeline to compare against):
``PYTHONPATH=. python -m tests.test_preprocess_reference --write``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from handwritten.data.preprocess import PreprocessResult, preprocess
from handwritten.evaluation.latency import CANVAS, DRAWINGS, drawing
from handwritten.recognition.candidates import candidate_crops, candidate_runs
from handwritten.recognition.prior import Prior

REFERENCE = Path(__file__).parent / "data" / "preprocess_reference.npz"
BRUSHES = (5, 12, 18, 28, 40)
ROUNDING = 1e-5  # how far float rounding may move a pixel
TIE = 0.07  # how far one pixel may move when a faint edge pixel is equally near two pieces


def _photo(strokes: list[list[tuple[int, int]]], seed: int) -> np.ndarray:
    """Dark, slightly blurred ink (soft edges) on paper lit unevenly from one side, with
    sensor noise (RGB, no alpha)."""
    rng = np.random.default_rng(seed)
    blurred = Image.fromarray(drawing(strokes, brush=12)[..., 3]).filter(
        ImageFilter.GaussianBlur(2)
    )
    ink = np.asarray(blurred, np.float64) / 255
    light = np.linspace(0.55, 0.95, CANVAS)[None, :] * np.ones((CANVAS, 1))
    paper = light * (1 - 0.8 * ink) + rng.normal(0, 0.02, ink.shape)
    gray = np.clip(paper * 255, 0, 255).astype(np.uint8)
    return np.stack([gray, gray, (gray * 0.95).astype(np.uint8)], axis=2)


def _opaque(strokes: list[list[tuple[int, int]]]) -> np.ndarray:
    """White strokes on an opaque black canvas (RGB)."""
    return np.repeat(drawing(strokes, brush=18)[..., 3:], 3, axis=2)


def _large(strokes: list[list[tuple[int, int]]]) -> np.ndarray:
    """The drawing enlarged past the working size (reduced before anything else)."""
    image = Image.fromarray(drawing(strokes, brush=18)).resize(
        (900, 900), Image.Resampling.BILINEAR
    )
    return np.asarray(image)


def reference_inputs() -> Iterator[tuple[str, np.ndarray]]:
    """The fixed drawings: every kind of input the pipeline's branches treat differently."""
    for name, strokes in DRAWINGS.items():
        for brush in BRUSHES:
            yield f"{name} brush {brush}", drawing(strokes, brush)
    for seed, (name, strokes) in enumerate(DRAWINGS.items()):
        yield f"{name} photo", _photo(strokes, seed)
        yield f"{name} opaque", _opaque(strokes)
    yield "2026 enlarged", _large(DRAWINGS["2026"])
    yield "blank", drawing([])
    yield "too little ink", drawing([[(40, 40), (42, 41)], [(200, 250), (201, 252)]], brush=3)
    yield (
        "specks",
        drawing(
            [[(40, 40), (41, 41)], [(200, 250), (201, 251)], [(100, 160), (101, 161)]], brush=6
        ),
    )


def _crops(result: PreprocessResult) -> np.ndarray:
    """Every candidate digit segmentation would read, as model inputs: at most five pieces a
    digit, the candidate limit when the recording was made (it checks the crops, not which
    candidates a prior asks for)."""
    if result.pieces is None:
        return np.zeros((0, 28, 28), np.float32)
    # At most five pieces each, as a run's parts were counted then (a stroke held whole now
    # counts once, which adds candidates after these in each start's list).
    runs = [r for r in candidate_runs(result.pieces, Prior(max_parts=5)) if r.stop - r.start <= 5]
    crops = candidate_crops(result.ink, result.pieces, runs)
    return np.stack([c.centred for c in crops]) if crops else np.zeros((0, 28, 28), np.float32)


def _record(result: PreprocessResult) -> dict[str, np.ndarray]:
    pieces = result.pieces.pieces if result.pieces is not None else []
    return {
        "reason": np.array(result.reason),
        "boxes": np.array([p.box for p in pieces], np.int32).reshape(-1, 4),
        "dots": np.array([p.dot for p in pieces], bool),
        "width": np.array(result.pieces.stroke_width if result.pieces is not None else 0.0),
        "groups": np.array(repr(result.groups)),
        "images": result.images_n28,
        "crops": _crops(result),
    }


def _write() -> None:
    arrays = {
        f"{name}/{key}": value
        for name, image in reference_inputs()
        for key, value in _record(preprocess(image)).items()
    }
    REFERENCE.parent.mkdir(exist_ok=True)
    np.savez_compressed(REFERENCE, **arrays)


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as saved:
        return {key: saved[key] for key in saved.files}


@pytest.mark.parametrize(("name", "image"), list(reference_inputs()), ids=lambda v: str(v)[:24])
def test_the_pipeline_gives_what_it_gave_before(
    reference: dict[str, np.ndarray], name: str, image: np.ndarray
) -> None:
    now = _record(preprocess(image))
    for key in ("reason", "boxes", "dots", "groups"):
        np.testing.assert_array_equal(now[key], reference[f"{name}/{key}"], err_msg=key)
    np.testing.assert_allclose(now["width"], reference[f"{name}/width"], rtol=1e-6)
    for key in ("images", "crops"):
        before = reference[f"{name}/{key}"]
        assert now[key].shape == before.shape, key
        difference = np.abs(now[key] - before).reshape(len(before), 28 * 28)
        for image, moved in enumerate(difference):
            assert np.count_nonzero(moved > ROUNDING) <= 1, (
                key,
                image,
                int((moved > ROUNDING).sum()),
            )
            assert moved.max(initial=0.0) <= TIE, (key, image, float(moved.max()))


def test_the_reference_covers_every_branch(reference: dict[str, np.ndarray]) -> None:
    """The recording holds digits, strings with many candidates, and both ways of finding
    nothing, so the test above cannot pass on a reference that recorded only blanks."""
    reasons = {str(reference[f"{name}/reason"]) for name, _ in reference_inputs()}
    assert {"", "nothing stands out from the background"} <= reasons
    assert any("specks" in r for r in reasons) and any("little ink" in r for r in reasons)
    assert reference["2026 brush 18/crops"].shape[0] >= 8
    assert reference["7 photo/images"].shape[0] == 1


if __name__ == "__main__" and "--write" in sys.argv:
    _write()
