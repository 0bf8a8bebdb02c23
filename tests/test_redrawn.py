"""Redrawn training digits: the realistic sets' pen on MNIST training digits, as model inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from handwritten.data.mnist import Split
from handwritten.data.rendering import draw_alone, draw_touching_pair, random_pen
from handwritten.models.architectures import NOT_A_DIGIT
from handwritten.training import negatives, redrawn
from handwritten.training.config import PRESETS, TrainConfig

from .test_realistic import FIVE, SEVEN

DIGITS = Split(np.stack([SEVEN, FIVE] * 10), np.array([7, 5] * 10, np.uint8))


def test_a_digit_is_drawn_alone_on_a_canvas_just_big_enough() -> None:
    for seed in range(12):
        ink = draw_alone(SEVEN, 7, np.random.default_rng(seed))
        assert ink.dtype == np.float32 and ink.min() >= 0 and ink.max() <= 1
        rows = np.flatnonzero(ink.max(axis=1) >= 0.5)
        cols = np.flatnonzero(ink.max(axis=0) >= 0.5)
        # a 2 px margin around the brush's extent, nothing more
        assert rows[0] <= 4 and rows[-1] >= ink.shape[0] - 5, seed
        assert cols[0] <= 4 and cols[-1] >= ink.shape[1] - 5, seed


def test_drawn_alone_has_no_specks_or_stray_dots() -> None:
    for seed in range(12):
        rng = np.random.default_rng(seed)
        width = random_pen(np.random.default_rng(seed), 100).width  # the same draws' scale
        ink = draw_alone(FIVE, 5, rng)
        labels, count = ndimage.label(ink >= 0.5)
        areas = ndimage.sum_labels(np.ones_like(ink), labels, np.arange(1, count + 1))
        assert 1 <= count <= 3, seed  # the body, and a detached hat or a break at most
        assert areas.min() >= 0.5 * min(width, 5) ** 2, seed


def test_redrawn_digits_look_like_their_sources() -> None:
    """Averaged over redrawings, a 7 is nearer the 7 it was drawn from than the 5 (and the
    other way round): the pen keeps the digit, whatever its slant, brush and accidents."""
    images = redrawn.generate(40, seed=0, digits=DIGITS)
    labels = DIGITS.labels_n[redrawn.chosen(40, 0, DIGITS)]
    sources = {7: SEVEN.astype(np.float32), 5: FIVE.astype(np.float32)}

    def likeness(image: np.ndarray, source: np.ndarray) -> float:
        return float(np.corrcoef(image.ravel().astype(np.float32), source.ravel())[0, 1])

    for label, other in ((7, 5), (5, 7)):
        own = [likeness(i, sources[label]) for i in images[labels == label]]
        wrong = [likeness(i, sources[other]) for i in images[labels == label]]
        assert np.mean(own) > np.mean(wrong) + 0.1, label


def test_redrawn_banks_are_deterministic_and_labelled_by_their_source() -> None:
    first = redrawn.generate(16, seed=3, digits=DIGITS)
    assert first.shape == (16, 28, 28) and first.dtype == np.uint8
    assert np.array_equal(first, redrawn.generate(16, seed=3, digits=DIGITS))
    assert not np.array_equal(first, redrawn.generate(16, seed=4, digits=DIGITS))
    assert (first.reshape(16, -1).max(axis=1) > 128).all()
    # each digit at most once while there are enough of them
    assert len(set(redrawn.chosen(16, 3, DIGITS).tolist())) == 16


def test_training_split_redraws_only_digits_it_trains_on() -> None:
    train = Split(np.stack([SEVEN] * 10 + [FIVE] * 10), np.array([7] * 10 + [5] * 10, np.uint8))
    split = negatives.training_split(train, heldout=10, negatives=4, seed=0, redrawn=6)
    assert len(split) == 10 + 4 + 6
    counts = np.bincount(split.labels_n, minlength=NOT_A_DIGIT + 1)
    assert counts[NOT_A_DIGIT] == 4
    assert counts[5] == 0 and counts[7] == 16  # the held-out fives are never redrawn
    again = negatives.training_split(train, heldout=10, negatives=4, seed=0, redrawn=6)
    assert np.array_equal(split.images_nhw, again.images_nhw)  # the second from the cache


def test_a_recipe_without_redrawn_digits_trains_on_the_same_set_as_before() -> None:
    plain = negatives.training_split(DIGITS, heldout=4, negatives=5, seed=1)
    zero = negatives.training_split(DIGITS, heldout=4, negatives=5, seed=1, redrawn=0)
    assert np.array_equal(plain.images_nhw, zero.images_nhw)
    assert np.array_equal(plain.labels_n, zero.labels_n)


def test_the_default_recipe_learns_drawn_digits_and_limits_are_checked() -> None:
    assert PRESETS["default"].redrawn > 0
    with pytest.raises(ValueError, match="redrawn digits"):
        TrainConfig(redrawn=-1).validate()


def test_squeezed_negatives_also_come_from_drawn_digits() -> None:
    """A model that learns drawn digits must also learn that two drawn digits touching are not
    one: with a redrawn pool, some squeezed negatives are made from it, and the bank without
    one is the bank it always was."""
    drawn = redrawn.redrawn_digits(12, seed=0, digits=DIGITS)
    plain = negatives.generate(60, seed=2, digits=DIGITS)
    assert np.array_equal(plain, negatives.generate(60, seed=2, digits=DIGITS, drawn=None))
    mixed = negatives.generate(60, seed=2, digits=DIGITS, drawn=drawn)
    assert mixed.shape == plain.shape and not np.array_equal(mixed, plain)
    cached = negatives.cached_negatives(60, 2, DIGITS, drawn)
    assert np.array_equal(cached, mixed)
    assert np.array_equal(negatives.cached_negatives(60, 2, DIGITS), plain)  # its own cache


def test_fragments_are_the_lesser_side_of_a_parted_digit_and_never_a_one_or_a_zero() -> None:
    rng = np.random.default_rng(0)
    seven = Split(SEVEN[None], np.array([7], np.uint8))
    made = [f for f in (negatives._fragment(rng, seven) for _ in range(40)) if f is not None]
    assert made
    whole = SEVEN.astype(np.float32) / 255
    for side in made:
        assert 0.15 <= side.sum() / whole.sum() <= 0.45
        kept = np.flatnonzero(side.any(axis=0))
        inked = np.flatnonzero(whole.any(axis=0))
        # the seven itself on the columns kept, which run from one edge of its ink to a cut
        assert np.array_equal(side[:, kept], whole[:, kept])
        assert kept[0] == inked[0] or kept[-1] == inked[-1]
        assert np.array_equal(kept, np.arange(kept[0], kept[-1] + 1))
    stick = np.zeros((28, 28), np.float32)
    stick[4:24, 13:15] = 1.0
    ring = np.zeros((28, 28), np.float32)
    ring[8:20, 8:20] = 1.0
    ring[11:17, 11:17] = 0.0
    assert negatives._is_a_stick(stick) and not negatives._is_a_stick(ring)
    assert negatives._has_a_loop(ring) and not negatives._has_a_loop(stick)


def _likeness(image: np.ndarray, source: np.ndarray) -> float:
    return float(
        np.corrcoef(image.ravel().astype(np.float32), source.ravel().astype(np.float32))[0, 1]
    )


def _pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    return draw_touching_pair(
        np.stack([SEVEN, FIVE]), np.array([7, 5]), np.random.default_rng(seed)
    )


def test_a_touching_pair_is_two_digits_side_by_side_whose_strokes_meet() -> None:
    touching = 0
    for seed in range(10):
        ink, layers = _pair(seed)
        assert layers.shape == (2, *ink.shape)
        assert np.array_equal(ink, layers.max(axis=0))
        seven_cols = np.flatnonzero(layers[0].max(axis=0) >= 0.35)
        five_cols = np.flatnonzero(layers[1].max(axis=0) >= 0.35)
        assert seven_cols.mean() < five_cols.mean(), seed  # left to right
        assert five_cols[0] <= seven_cols[-1], seed  # their boxes overlap
        # mostly one connected stroke holds ink of both (a slanted 7's bar may pass over the 5)
        labels, _ = ndimage.label(ink >= 0.35, structure=np.ones((3, 3), bool))
        owners = [set(np.unique(labels[layer >= 0.35])) for layer in layers]
        touching += bool((owners[0] & owners[1]) - {0})
    assert touching >= 6


def test_each_side_of_a_parted_pair_reads_as_its_own_digit() -> None:
    """Parted where segmentation parts touching digits, the left sides look like the 7 and the
    right sides like the 5 (on average: one redrawing may look like neither)."""
    sides: list[tuple[np.ndarray, np.ndarray]] = []
    for seed in range(16):
        ink, layers = _pair(seed)
        left, right = redrawn.parted(ink, layers, 0), redrawn.parted(ink, layers, 1)
        assert (left is None) == (right is None)
        if left is not None and right is not None:
            assert left.shape == (28, 28) and left.dtype == np.uint8
            sides.append((left, right))
    assert len(sides) >= 8
    own = np.mean([_likeness(a, SEVEN) + _likeness(b, FIVE) for a, b in sides])
    swapped = np.mean([_likeness(a, FIVE) + _likeness(b, SEVEN) for a, b in sides])
    assert own > swapped + 0.2


def test_a_pair_that_cannot_be_parted_between_its_digits_gives_nothing() -> None:
    ink = np.zeros((40, 60), np.float32)
    ink[10:30, 10:50] = 1.0  # one solid bar, its top half one digit's, its bottom the other's
    layers = np.stack([ink.copy(), ink.copy()])
    layers[0, 20:] = 0
    layers[1, :20] = 0
    assert redrawn.parted(ink, layers, 0) is None


def test_a_share_of_the_redrawn_digits_is_parted_from_a_neighbour() -> None:
    """The others are drawn alone exactly as in a bank without parted digits."""
    alone = redrawn.generate(24, seed=1, digits=DIGITS, parted_share=0.0)
    mixed = redrawn.generate(24, seed=1, digits=DIGITS, parted_share=0.5)
    assert np.array_equal(mixed, redrawn.generate(24, seed=1, digits=DIGITS, parted_share=0.5))
    differ = (alone != mixed).reshape(24, -1).any(axis=1)
    assert 4 <= differ.sum() <= 20
    parted = mixed[differ]
    labels = DIGITS.labels_n[redrawn.chosen(24, 1, DIGITS)][differ]
    sources = {7: SEVEN, 5: FIVE}
    own = np.mean([_likeness(i, sources[int(d)]) for i, d in zip(parted, labels, strict=True)])
    other = np.mean(
        [_likeness(i, sources[12 - int(d)]) for i, d in zip(parted, labels, strict=True)]
    )
    assert own > other + 0.05
