"""Unit tests for ``handwritten.data.preprocess`` on hand-drawn synthetic images.

Geometry is checked against ``scipy.ndimage`` run on the masks the tests drew themselves; every
input variant (polarity, transparency, lighting, file mode) must give the same 28x28 digit.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from handwritten.data import decode as decode_module
from handwritten.data import preprocess as pp
from handwritten.data.preprocess import ImageError, decode_image, preprocess

Point = tuple[int, int]
Stroke = Sequence[Point]

SIDE = 280
WIDTH = 15

SEVEN: list[Stroke] = [[(80, 60), (200, 60), (120, 230)]]
TWO: list[Stroke] = [[(90, 90), (120, 55), (175, 60), (185, 110), (95, 225), (200, 225)]]
# A 5 written in two strokes: the body, and a hat above it that does not touch it.
FIVE: list[Stroke] = [
    [(100, 100), (100, 150), (160, 150), (180, 185), (160, 225), (95, 230)],
    [(110, 62), (190, 62)],
]
TALL_BAR: list[Stroke] = [[(140, 40), (140, 240)]]
WIDE_BAR: list[Stroke] = [[(40, 140), (240, 140)]]


def draw(
    strokes: Sequence[Stroke],
    size: tuple[int, int] = (SIDE, SIDE),  # (width, height), as PIL has it
    *,
    width: int = WIDTH,
    ink: int = 255,
    paper: int = 0,
) -> np.ndarray:
    """Strokes as (H, W) uint8, drawn without anti-aliasing so the ink mask is exact."""
    image = Image.new("L", size, paper)
    pen = ImageDraw.Draw(image)
    for stroke in strokes:
        pen.line(list(stroke), fill=ink, width=width, joint="curve")
    return np.asarray(image).copy()


def mask_of(strokes: Sequence[Stroke], size: tuple[int, int] = (SIDE, SIDE), **kw) -> np.ndarray:
    return draw(strokes, size, **kw) > 127


def bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), bottom/right exclusive, by scipy.ndimage.find_objects."""
    (rows, cols), *_ = ndimage.find_objects(mask.astype(np.int32))
    return rows.start, cols.start, rows.stop, cols.stop


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Best correlation over shifts of up to one pixel.

    Centring rounds the offset to whole pixels, so two renderings of one digit whose centres of
    mass straddle a half pixel land one pixel apart; both are within 0.5 px of the centre.
    """
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return max(corr(np.roll(a, shift, axis=(0, 1)), b) for shift in shifts)


def single_digit(image, **kw) -> pp.DigitCrop:
    result = preprocess(image, **kw)
    assert len(result.digits) == 1, result.reason
    return result.digits[0]


def encode(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kw)
    return buffer.getvalue()


def rgba_strokes(mask: np.ndarray, colour: int = 255, background_rgb: int = 0) -> np.ndarray:
    """A canvas payload: opaque strokes, fully transparent elsewhere."""
    rgba = np.zeros((*mask.shape, 4), np.uint8)
    rgba[..., :3] = background_rgb
    rgba[mask] = (colour, colour, colour, 255)
    return rgba


# ---------------------------------------------------------------------------------------------
# Geometry: box, fit to 20, centre of mass at the centre


@pytest.mark.parametrize("strokes", [SEVEN, TWO, FIVE, TALL_BAR, WIDE_BAR])
def test_centre_of_mass_at_centre(strokes: list[Stroke]) -> None:
    digit = single_digit(draw(strokes))
    assert digit.centred.shape == (pp.MNIST_SIZE, pp.MNIST_SIZE)
    assert digit.centred.dtype == np.float32
    com = ndimage.center_of_mass(digit.centred)
    assert abs(com[0] - 14.0) <= 0.5 + 1e-6
    assert abs(com[1] - 14.0) <= 0.5 + 1e-6
    # Nothing is lost when pasting into 28x28, and all values stay in [0, 1].
    assert digit.centred.sum() == pytest.approx(digit.fitted.sum(), rel=1e-5)
    assert digit.centred.min() >= 0.0 and digit.centred.max() <= 1.0


@pytest.mark.parametrize("strokes", [SEVEN, TWO, FIVE, TALL_BAR, WIDE_BAR])
def test_box_is_bounding_box_of_the_ink(strokes: list[Stroke]) -> None:
    mask = mask_of(strokes)
    result = preprocess(draw(strokes))
    assert result.ink.shape == mask.shape  # small images are not rescaled
    [digit] = result.digits
    top, left, bottom, right = bbox(mask)
    assert digit.box == (top, left, bottom, right)
    assert digit.cropped.shape == (bottom - top, right - left)
    # The crop holds the drawn ink (binary strokes: ink is exactly 1 on the strokes).
    assert np.array_equal(digit.cropped >= pp.INK_THRESHOLD, mask[top:bottom, left:right])


def test_box_of_large_image_is_in_reduced_ink_pixels() -> None:
    """Images larger than WORK_SIDE are reduced first; the box is in `ink` pixels."""
    scale = 4
    big = [[(x * scale, y * scale) for x, y in stroke] for stroke in SEVEN]
    mask = mask_of(big, (SIDE * scale, SIDE * scale), width=WIDTH * scale)
    result = preprocess(draw(big, (SIDE * scale, SIDE * scale), width=WIDTH * scale))
    assert result.grayscale.shape == mask.shape
    assert result.ink.shape == (pp.WORK_SIDE, pp.WORK_SIDE)
    factor = pp.WORK_SIDE / (SIDE * scale)
    [digit] = result.digits
    expected = np.array(bbox(mask)) * factor
    assert np.abs(np.array(digit.box) - expected).max() <= 1.0


@pytest.mark.parametrize(
    ("strokes", "width"),
    [(TALL_BAR, 30), (WIDE_BAR, 30), (SEVEN, 15), (TWO, 15)],  # strokes MNIST-like as drawn
)
def test_fitted_longer_side_is_20_and_keeps_aspect(strokes: list[Stroke], width: int) -> None:
    top, left, bottom, right = bbox(mask_of(strokes, width=width))
    height, wide = bottom - top, right - left
    digit = single_digit(draw(strokes, width=width))
    scale = pp.FIT_SIZE / max(height, wide)
    assert max(digit.fitted.shape) == pp.FIT_SIZE
    assert digit.fitted.shape == (max(1, round(height * scale)), max(1, round(wide * scale)))
    assert digit.fitted.min() >= 0.0 and digit.fitted.max() <= 1.0


def test_tall_thin_stroke_fits_to_20_by_small() -> None:
    digit = single_digit(draw(TALL_BAR, width=30))
    assert digit.fitted.shape[0] == 20
    assert digit.fitted.shape[1] <= 4
    wide = single_digit(draw(WIDE_BAR, width=30))
    assert wide.fitted.shape == digit.fitted.shape[::-1]


def test_thin_strokes_are_thickened() -> None:
    """A digit drawn with a 3 px pen still reaches MNIST-like stroke width in 28x28."""
    thin = single_digit(draw(SEVEN, width=3)).centred
    thick = single_digit(draw(SEVEN, width=WIDTH)).centred
    # Unthickened, a 3 px stroke would be 0.3 px wide after fitting: almost nothing above 0.5.
    assert (thin >= 0.5).sum() >= 0.8 * (thick >= 0.5).sum()
    assert similarity(thin, thick) > 0.8


def test_images_n28() -> None:
    result = preprocess(draw(SEVEN))
    assert result.images_n28.shape == (1, 28, 28)
    assert result.images_n28.dtype == np.float32
    assert np.array_equal(result.images_n28[0], result.digits[0].centred)


# ---------------------------------------------------------------------------------------------
# Polarity, transparency and lighting


def lit_paper(mask: np.ndarray, *, noise: float = 0.02) -> np.ndarray:
    """Dark ink on light paper under a strong left-to-right lighting gradient, floats."""
    height, width = mask.shape
    paper = np.tile(np.linspace(0.95, 0.45, width), (height, 1))
    paper *= np.linspace(1.0, 0.85, height)[:, None]  # and a little top to bottom
    image = np.where(mask, paper * 0.2, paper)
    image += np.random.default_rng(0).normal(0.0, noise, image.shape)
    return np.clip(image, 0.0, 1.0)


def vignetted_paper(mask: np.ndarray) -> np.ndarray:
    """Dark ink on paper that darkens towards the corners (a phone's lens), the border below
    mid-grey: read by the border alone, the lit middle of the sheet was the ink."""
    rows, cols = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]]
    distance = np.hypot(rows / mask.shape[0] - 0.5, cols / mask.shape[1] - 0.5)
    paper = 0.75 - 0.4 * distance / distance.max()
    image = np.where(mask, 0.15, paper) + np.random.default_rng(0).normal(0.0, 0.01, mask.shape)
    return np.clip(image, 0.0, 1.0)


def sheet_on_a_table(mask: np.ndarray) -> np.ndarray:
    """Dark ink on a sheet that does not fill the photo: a dark table shows along its top."""
    image = np.where(mask, 0.15, 0.85)
    image[: mask.shape[0] // 8] = 0.2
    image += np.random.default_rng(0).normal(0.0, 0.01, mask.shape)
    return np.clip(image, 0.0, 1.0)


def coloured_photo(mask: np.ndarray) -> np.ndarray:
    image = np.empty((*mask.shape, 3), np.uint8)
    image[:] = (235, 225, 190)  # yellowish paper
    image[mask] = (30, 40, 130)  # blue pen
    return image


VARIANTS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], bool]] = {
    # name: (make the image from the ink mask, expected `inverted`)
    "white on black": (lambda m: np.where(m, 255, 0).astype(np.uint8), False),
    "black on white": (lambda m: np.where(m, 0, 255).astype(np.uint8), True),
    "white on black floats": (lambda m: m.astype(np.float64), False),
    "canvas, transparent, white strokes": (lambda m: rgba_strokes(m, 255), False),
    "canvas, transparent, black strokes": (lambda m: rgba_strokes(m, 0), True),
    "canvas, transparent white background": (lambda m: rgba_strokes(m, 0, 255), True),
    "canvas, opaque black": (lambda m: rgba_strokes(m, 255)[..., :3], False),
    "paper with lighting gradient": (lambda m: lit_paper(m, noise=0.0), True),
    "paper with lighting gradient and noise": (lit_paper, True),
    "coloured photo": (coloured_photo, True),
    "paper darkened towards the corners": (vignetted_paper, True),
    "a sheet on a dark table": (sheet_on_a_table, True),
}


@pytest.mark.parametrize("strokes", [SEVEN, TWO])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_polarity_and_background_give_the_same_digit(strokes: list[Stroke], variant: str) -> None:
    mask = mask_of(strokes)
    reference = single_digit(draw(strokes)).centred
    make, inverted = VARIANTS[variant]
    result = preprocess(make(mask))
    assert result.inverted is inverted
    assert len(result.digits) == 1, result.reason
    assert similarity(result.digits[0].centred, reference) > 0.9
    # The ink image is white on black whatever the input was.
    assert result.ink[mask].mean() > 0.8
    assert result.ink[~ndimage.binary_dilation(mask, iterations=3)].mean() < 0.05


@pytest.mark.parametrize("light_strokes", [True, False])
def test_a_stroke_from_edge_to_edge_of_a_canvas_is_kept(light_strokes: bool) -> None:
    # A 7 whose bar runs along the top of the canvas from side to side is ink, not the edge
    # of a sheet (which is a band, not a bar with a stem).
    mask = mask_of([[(0, 4), (SIDE - 1, 4), (140, SIDE - 1)]])
    image = np.where(mask, 255, 0) if light_strokes else np.where(mask, 0, 255)
    result = preprocess(image.astype(np.uint8))
    assert result.inverted is not light_strokes
    assert len(result.digits) == 1, result.reason
    assert result.ink[mask].mean() > 0.8


def test_canvas_transparency_composited_away_from_stroke_colour() -> None:
    mask = mask_of(SEVEN)
    white = preprocess(rgba_strokes(mask, 255))
    black = preprocess(rgba_strokes(mask, 0))
    assert np.array_equal(white.grayscale > 0.5, mask)  # composited onto black
    assert np.array_equal(black.grayscale < 0.5, mask)  # composited onto white
    assert white.original.shape == (SIDE, SIDE, 4)


# ---------------------------------------------------------------------------------------------
# Blank inputs


BLANKS: dict[str, np.ndarray] = {
    "all black": np.zeros((SIDE, SIDE), np.uint8),
    "all white": np.full((SIDE, SIDE), 255, np.uint8),
    "all transparent": np.zeros((SIDE, SIDE, 4), np.uint8),
    "transparent white": rgba_strokes(np.zeros((SIDE, SIDE), bool), 0, 255),
    "uniform gray": np.full((SIDE, SIDE, 3), 128, np.uint8),
    "uniform gray floats": np.full((SIDE, SIDE), 0.5),
    "faint digit": draw(SEVEN, ink=10),
    "blank paper with lighting gradient": lit_paper(np.zeros((SIDE, SIDE), bool), noise=0.0),
    "blank paper, noise, even lighting": np.clip(
        0.8 + np.random.default_rng(0).normal(0.0, 0.03, (SIDE, SIDE)), 0.0, 1.0
    ),
    "tiny image": np.zeros((1, 1), np.uint8),
}


@pytest.mark.parametrize("name", list(BLANKS))
def test_blank_images(name: str) -> None:
    result = preprocess(BLANKS[name])
    assert result.is_blank
    assert result.reason
    assert result.images_n28.shape == (0, 28, 28)


def test_blank_noisy_paper_with_lighting_gradient_is_blank() -> None:
    result = preprocess(lit_paper(np.zeros((SIDE, SIDE), bool), noise=0.02))
    assert result.is_blank, [d.box for d in result.digits]


def gently_lit_paper(mask: np.ndarray, ink: float = 0.45, seed: int = 0) -> np.ndarray:
    """A pencil-grey digit on paper lit a little more from one corner: too little change in
    the light to subtract (`UNEVEN_LIGHTING`), enough to spread the border's levels."""
    height, width = mask.shape
    ramp = (np.arange(width)[None, :] / width + np.arange(height)[:, None] / height) / 2
    image = np.where(mask, ink, 0.75 - 0.1 * ramp)
    image += np.random.default_rng(seed).normal(0.0, 0.01, image.shape)
    return np.clip(image, 0.0, 1.0)


def test_a_faint_digit_on_paper_lit_from_one_side_is_found() -> None:
    # The border's levels vary with the light; taken for sensor noise, six sigmas of them were
    # more than the digit's contrast, and this 7 was "nothing stands out from the background".
    mask = mask_of(SEVEN)
    result = preprocess(gently_lit_paper(mask))
    assert len(result.digits) == 1, result.reason
    assert result.ink[mask].mean() > 0.8
    assert preprocess(gently_lit_paper(np.zeros_like(mask))).is_blank


@pytest.mark.parametrize("seed", range(12))
def test_blank_paper_with_any_light_noise_and_blur_is_blank(seed: int) -> None:
    rng = np.random.default_rng(seed)
    height, width = 300, int(300 * rng.uniform(0.8, 1.5))
    slope = rng.uniform(-1, 1, 2)
    rows, cols = np.mgrid[0:height, 0:width]
    ramp = slope[0] * cols / width + slope[1] * rows / height
    ramp = (ramp - ramp.min()) / np.ptp(ramp)
    paper = rng.uniform(0.6, 0.95) - rng.uniform(0, 0.3) * ramp
    paper = paper + rng.normal(0.0, rng.uniform(0.0, 0.06), (height, width))
    paper = ndimage.gaussian_filter(paper, rng.uniform(0.0, 2.0))
    assert preprocess(np.clip(paper, 0.0, 1.0)).is_blank


@pytest.mark.parametrize("speck", [1, 3, 5, 7])
@pytest.mark.parametrize("light", [False, True])
def test_single_speck_is_blank(speck: int, light: bool) -> None:
    image = np.zeros((SIDE, SIDE), np.uint8)
    image[150 : 150 + speck, 90 : 90 + speck] = 255
    result = preprocess(255 - image if light else image)
    assert result.is_blank
    assert result.reason


def test_specks_next_to_a_digit_are_ignored() -> None:
    image = draw(SEVEN)
    image[250:253, 20:23] = 255  # a 3x3 dot of dust far from the digit
    [digit] = preprocess(image).digits
    assert digit.box == bbox(mask_of(SEVEN))


# ---------------------------------------------------------------------------------------------
# Segmentation


ONE_ONE_SEVEN: list[list[Stroke]] = [
    [[(70, 40), (70, 200)]],
    [[(200, 40), (200, 200)]],
    [[(320, 40), (470, 40), (370, 200)]],
]


def test_three_digits_left_to_right() -> None:
    size = (540, 240)
    # Drawn right to left, to be sure the order comes from the positions.
    image = draw([s for digit in reversed(ONE_ONE_SEVEN) for s in digit], size)
    result = preprocess(image)
    assert len(result.digits) == 3
    boxes = [d.box for d in result.digits]
    assert boxes == sorted(boxes, key=lambda b: b[1])
    assert boxes == [bbox(mask_of(digit, size)) for digit in ONE_ONE_SEVEN]
    assert result.images_n28.shape == (3, 28, 28)
    for digit in result.digits:
        com = ndimage.center_of_mass(digit.centred)
        assert np.abs(np.array(com) - 14.0).max() <= 0.5 + 1e-6
    # Each crop holds only its own digit: the two 1s look alike, the 7 does not.
    first, second, third = (d.centred for d in result.digits)
    assert similarity(first, second) > 0.95
    assert similarity(first, third) < 0.6


def test_multi_false_takes_all_ink_as_one_digit() -> None:
    size = (540, 240)
    image = draw([s for digit in ONE_ONE_SEVEN for s in digit], size)
    [digit] = preprocess(image, multi=False).digits
    assert digit.box == bbox(image > 127)


def test_five_with_separate_hat_is_one_digit() -> None:
    mask = mask_of(FIVE)
    assert ndimage.label(mask, structure=np.ones((3, 3)))[1] == 2  # really two pieces
    [digit] = preprocess(draw(FIVE)).digits
    assert digit.box == bbox(mask)  # hat and body together


@pytest.mark.parametrize(
    "bar",
    [
        [(170, 40), (170, 135)],  # above the crossbar, stopping short of it
        [(170, 170), (170, 250)],  # below the crossbar, starting short of it
    ],
)
def test_four_in_two_separate_strokes_is_one_digit(bar: Stroke) -> None:
    strokes = [[(80, 40), (80, 150), (215, 150)], bar]  # an L, and a bar within its columns
    mask = mask_of(strokes)
    assert ndimage.label(mask, structure=np.ones((3, 3)))[1] == 2
    [digit] = preprocess(draw(strokes)).digits
    assert digit.box == bbox(mask)


# ---------------------------------------------------------------------------------------------
# Decoding files


BASE = draw(TWO)


def _palette_png(ink_index_colour: tuple[int, int, int], paper: tuple[int, int, int], **kw):
    image = Image.new("P", (SIDE, SIDE))
    image.putpalette([*paper, *ink_index_colour])
    image.putdata((BASE > 127).astype(np.uint8).ravel().tolist())
    return encode(image, "PNG", **kw)


def _mode_l() -> Image.Image:
    return Image.fromarray(BASE)


def _transparent(mode: str) -> bytes:
    if mode == "LA":
        image = Image.merge("LA", [Image.new("L", (SIDE, SIDE), 255), Image.fromarray(BASE)])
    else:
        image = Image.fromarray(rgba_strokes(BASE > 127, 255))
    assert image.mode == mode
    return encode(image)


def _i16() -> bytes:
    image = Image.fromarray(BASE.astype(np.uint16) * 257)
    assert image.mode == "I;16"
    return encode(image)


def _float_tiff() -> bytes:
    image = Image.fromarray(BASE.astype(np.float32) / 255.0)
    assert image.mode == "F"
    return encode(image, "TIFF")


FILES: dict[str, tuple[Callable[[], bytes], str]] = {
    # name: (encoded bytes, the mode PIL opens them in)
    "L png": (lambda: encode(_mode_l()), "L"),
    "RGB png": (lambda: encode(_mode_l().convert("RGB")), "RGB"),
    "RGBA png": (lambda: encode(_mode_l().convert("RGBA")), "RGBA"),
    "RGBA png, transparent": (lambda: _transparent("RGBA"), "RGBA"),
    "LA png": (lambda: encode(_mode_l().convert("LA")), "LA"),
    "LA png, transparent": (lambda: _transparent("LA"), "LA"),
    "P png": (lambda: _palette_png((255, 255, 255), (0, 0, 0)), "P"),
    "P png, inverted palette": (lambda: _palette_png((0, 0, 0), (255, 255, 255)), "P"),
    "P png, transparency": (
        lambda: _palette_png((0, 0, 0), (255, 255, 255), transparency=0),
        "P",
    ),
    "I;16 png": (_i16, "I;16"),
    "CMYK jpeg": (lambda: encode(_mode_l().convert("CMYK"), "JPEG", quality=95), "CMYK"),
    "CMYK tiff": (lambda: encode(_mode_l().convert("CMYK"), "TIFF"), "CMYK"),
    "1-bit png": (lambda: encode(_mode_l().convert("1", dither=Image.Dither.NONE)), "1"),
    "F tiff": (_float_tiff, "F"),
    "L jpeg": (lambda: encode(_mode_l(), "JPEG", quality=90), "L"),
    "RGB gif": (lambda: encode(_mode_l().convert("RGB"), "GIF"), "P"),
    "RGB bmp": (lambda: encode(_mode_l().convert("RGB"), "BMP"), "RGB"),
    "RGB webp, lossless": (lambda: encode(_mode_l().convert("RGB"), "WEBP", lossless=True), "RGB"),
}


@pytest.mark.parametrize("name", list(FILES))
def test_decode_any_mode(name: str) -> None:
    make, pil_mode = FILES[name]
    data = make()
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.mode == pil_mode  # the test really exercises that mode
    rgba = decode_image(data)
    assert rgba.shape == (SIDE, SIDE, 4)
    assert rgba.dtype == np.uint8
    reference = single_digit(BASE).centred
    digit = single_digit(data)
    assert similarity(digit.centred, reference) > 0.95


def test_palette_transparency_becomes_alpha() -> None:
    rgba = decode_image(FILES["P png, transparency"][0]())
    mask = BASE > 127
    assert (rgba[..., 3][~mask] == 0).all()
    assert (rgba[..., 3][mask] == 255).all()


def test_i16_uses_the_full_16_bit_range() -> None:
    rgba = decode_image(_i16())
    assert np.array_equal(rgba[..., 0], BASE)
    assert (rgba[..., 3] == 255).all()


@pytest.mark.parametrize(("orientation", "k"), [(6, 1), (8, -1), (3, 2)])
def test_exif_rotation_is_applied(orientation: int, k: int) -> None:
    """The stored pixels are the upright digit turned; the EXIF tag says how to turn it back."""
    upright = draw(SEVEN, size=(320, SIDE))  # 280 rows, 320 columns: not square
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(upright, k)))
    exif = stored.getexif()
    exif[0x0112] = orientation
    data = encode(stored, "JPEG", quality=95, exif=exif)
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.size == stored.size
        assert opened.getexif()[0x0112] == orientation

    rgba = decode_image(data)
    assert rgba.shape == (*upright.shape, 4)  # back to 280 x 320
    gray = rgba[..., 0].astype(float)
    assert corr(gray, upright) > 0.95
    # The ink sits where the upright drawing has it (the 7's bar along the top).
    assert np.allclose(ndimage.center_of_mass(gray), ndimage.center_of_mass(upright), atol=2.0)
    assert similarity(single_digit(data).centred, single_digit(upright).centred) > 0.95


# ---------------------------------------------------------------------------------------------
# Bad inputs


def _png() -> bytes:
    return encode(Image.fromarray(BASE))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (np.random.default_rng(0).bytes(2000), "not an image"),
        (b"this is not a picture\n" * 20, "not an image"),
        (b"%PDF-1.7\n", "not an image"),
    ],
)
def test_decode_rejects_non_images(data: bytes, expected: str) -> None:
    with pytest.raises(ImageError, match=expected):
        decode_image(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_decode_rejects_truncated_file(fmt: str) -> None:
    data = encode(Image.fromarray(BASE).convert("RGB"), fmt)
    with pytest.raises(ImageError, match="damaged or truncated"):
        decode_image(data[: len(data) // 2])


def test_decode_rejects_too_many_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode_module, "MAX_PIXELS", 1000)
    with pytest.raises(ImageError, match="the image is 40x30 pixels; the limit"):
        decode_image(encode(Image.new("L", (40, 30))))
    decode_image(encode(Image.new("L", (25, 40))))  # exactly at the limit is fine


def test_decode_rejects_decompression_bomb(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(Image.new("L", (20, 20)))
    for limit in (300, 100):  # over the limit (a warning in PIL), over twice it (an error)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
        with pytest.raises(ImageError, match="decompression bomb"):
            decode_image(data)


def test_decode_rejects_too_many_bytes() -> None:
    data = _png()
    with pytest.raises(ImageError, match="limit"):
        decode_image(data, max_bytes=len(data) - 1)
    assert decode_image(data, max_bytes=len(data)).shape == (SIDE, SIDE, 4)
    with pytest.raises(ImageError, match=r"10\.5 MB; the limit is 10 MB"):
        decode_image(b"\x00" * (pp.MAX_UPLOAD_BYTES + 1))


def test_preprocess_accepts_bytes_path_pil_and_array(tmp_path: Path) -> None:
    path = tmp_path / "two.png"
    path.write_bytes(_png())
    reference = single_digit(BASE).centred
    for image in (_png(), path, Image.fromarray(BASE), BASE, BASE / 255.0):
        assert np.allclose(single_digit(image).centred, reference, atol=1e-6)


def test_load_image_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(_png()[:100])
    with pytest.raises(ImageError, match="damaged or truncated") as info:
        preprocess(path)
    assert str(info.value).startswith(f"{path}: ")
    missing = tmp_path / "missing.png"
    with pytest.raises(ImageError, match="cannot read") as info:
        pp.load_image(missing)
    assert str(missing) in str(info.value)


# ---------------------------------------------------------------------------------------------
# as_rgba


def test_as_rgba_floats() -> None:
    rgba = pp.as_rgba(np.array([[0.0, 0.5, 1.0], [-1.0, 2.0, np.nan]]))
    assert rgba.dtype == np.uint8
    assert rgba.shape == (2, 3, 4)
    assert rgba[..., 0].tolist() == [[0, 128, 255], [0, 255, 0]]
    assert (rgba[..., :3] == rgba[..., :1]).all()
    assert (rgba[..., 3] == 255).all()


def test_as_rgba_shapes_and_dtypes() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    out = pp.as_rgba(rgb)
    assert out.shape == (4, 5, 4)
    assert np.array_equal(out[..., :3], rgb)
    assert (out[..., 3] == 255).all()

    rgba = np.random.default_rng(1).integers(0, 256, (4, 5, 4), dtype=np.uint8)
    assert np.array_equal(pp.as_rgba(rgba), rgba)

    one = pp.as_rgba(np.full((2, 2, 1), 0.25, np.float32))
    assert one.shape == (2, 2, 4)
    assert one[0, 0].tolist() == [64, 64, 64, 255]

    assert pp.as_rgba(np.eye(3, dtype=bool))[..., 0].tolist() == (np.eye(3) * 255).tolist()
    assert pp.as_rgba(np.zeros((3, 3, 3), np.float32))[..., 3].min() == 255


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((5,), "got shape"),
        ((2, 2, 2), "got shape"),
        ((2, 2, 5), "got shape"),
        ((1, 2, 2, 3), "got shape"),
        ((), "got shape"),
        ((0, 5), "no pixels"),
        ((5, 0, 3), "no pixels"),
    ],
)
def test_as_rgba_bad_shapes(shape: tuple[int, ...], expected: str) -> None:
    with pytest.raises(ImageError, match=expected):
        pp.as_rgba(np.zeros(shape, np.uint8))
    with pytest.raises(ImageError):
        preprocess(np.zeros(shape))
