"""The Draw page in a real browser: mouse, touch, clear, upload, page switches, two tabs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect

from .conftest import save_screenshot
from .drawing import (
    CROSSED_SEVEN,
    FIVE_DETACHED_HAT,
    LETTER_A,
    ONE,
    SEVEN,
    ZERO,
    draw,
    prediction,
    touch_stroke,
)


@pytest.mark.parametrize(
    "strokes, digit, name",
    [(ONE, "1", "1"), (SEVEN, "7", "7"), (ZERO, "0", "0"), (CROSSED_SEVEN, "7", "7-crossed")],
)  # fmt: skip
def test_drawn_digit_is_read(page: Page, app_url: str, strokes, digit: str, name: str) -> None:
    page.goto(app_url)
    expect(prediction(page)).to_contain_text("–", timeout=60_000)
    draw(page, strokes)
    expect(prediction(page)).to_have_text(f"Prediction{digit}", timeout=60_000)
    page.locator(".probability-bars").first.wait_for()
    save_screenshot(page, f"draw-{name}")


def test_a_letter_is_not_a_digit_and_a_detached_hat_still_makes_a_5(
    page: Page, app_url: str
) -> None:
    page.goto(app_url)
    draw(page, LETTER_A)
    expect(prediction(page)).to_have_text("Predictionnot a digit", timeout=60_000)
    expect(page.get_by_text("does not look like any digit")).to_be_visible()
    save_screenshot(page, "draw-not-a-digit")
    page.get_by_role("button", name="Reset canvas & history").click()
    expect(prediction(page)).to_have_text("Prediction–", timeout=60_000)
    draw(page, FIVE_DETACHED_HAT)
    expect(prediction(page)).to_have_text("Prediction5", timeout=60_000)
    save_screenshot(page, "draw-5-detached-hat")


def test_clear_returns_to_the_prompt(page: Page, app_url: str) -> None:
    page.goto(app_url)
    draw(page, SEVEN)
    expect(prediction(page)).to_have_text("Prediction7", timeout=60_000)
    page.get_by_role("button", name="Reset canvas & history").click()
    expect(prediction(page)).to_have_text("Prediction–", timeout=60_000)
    expect(page.get_by_text("Draw a digit to see the model's answer")).to_be_visible()


def test_touch_stroke(browser: Browser, app_url: str) -> None:
    context = browser.new_context(
        has_touch=True, is_mobile=True, viewport={"width": 420, "height": 900}
    )
    page = context.new_page()
    page.goto(app_url)
    touch_stroke(page, ONE[0])
    expect(prediction(page)).to_have_text("Prediction1", timeout=60_000)
    save_screenshot(page, "draw-touch-mobile")
    context.close()


def test_pipeline_toggle_and_several_digits(page: Page, app_url: str) -> None:
    page.goto(app_url)
    shrink = lambda strokes, dx: [[(x // 2 + dx, y) for x, y in s] for s in strokes]  # noqa: E731
    draw(page, shrink(SEVEN, 0) + shrink(ONE, 75) + shrink(ZERO, 180))
    expect(prediction(page)).to_have_text("Prediction710", timeout=60_000)
    page.get_by_text("How the model sees it").first.click()
    expect(page.get_by_text("centred in 28×28 by mass")).to_be_visible(timeout=60_000)
    save_screenshot(page, "draw-several-digits-pipeline")


def test_switching_pages_keeps_the_drawing(page: Page, app_url: str) -> None:
    page.goto(app_url)
    draw(page, SEVEN)
    expect(prediction(page)).to_have_text("Prediction7", timeout=60_000)
    page.get_by_role("link", name="Train").click()
    expect(page.get_by_role("heading", name="Train")).to_be_visible(timeout=60_000)
    page.get_by_role("link", name="Draw").click()
    expect(prediction(page)).to_have_text("Prediction7", timeout=60_000)


def test_two_tabs_are_independent(browser: Browser, app_url: str) -> None:
    first, second = browser.new_context(), browser.new_context()
    one, two = first.new_page(), second.new_page()
    one.goto(app_url)
    two.goto(app_url)
    draw(one, ONE)
    draw(two, ZERO)
    expect(prediction(one)).to_have_text("Prediction1", timeout=60_000)
    expect(prediction(two)).to_have_text("Prediction0", timeout=60_000)
    first.close()
    second.close()


def _photo_of_a_four() -> bytes:
    """A phone photo: the sheet darkens towards the corners, below mid-grey (read by its border
    alone, its lit middle was the ink), and the table shows along its left side."""
    image = Image.new("RGB", (600, 450), (225, 222, 215))
    pen = ImageDraw.Draw(image)
    pen.line([(330, 80), (250, 270), (380, 270)], fill=(30, 30, 40), width=14)
    pen.line([(350, 170), (350, 380)], fill=(30, 30, 40), width=14)
    rows, cols = np.mgrid[0:450, 0:600]
    distance = np.hypot(rows / 450 - 0.5, cols / 600 - 0.5)
    shade = (1.0 - 0.65 * distance / distance.max())[..., None]
    pixels = np.asarray(image) * shade
    pixels[:, :60] = (45, 40, 38)  # the table beside the sheet
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_upload_good_and_bad_files(page: Page, app_url: str, tmp_path) -> None:
    page.goto(app_url)
    page.get_by_role("tab", name="Upload a photo").click()
    photo = tmp_path / "four.jpg"
    photo.write_bytes(_photo_of_a_four())
    page.locator('input[type="file"]').set_input_files(str(photo))
    upload_metric = page.locator('[data-testid="stMetric"]').filter(has_text="Prediction").last
    expect(upload_metric).to_have_text("Prediction4", timeout=60_000)
    page.locator(".probability-bars").last.wait_for()
    expect(page.get_by_text("centred in 28×28 by mass")).to_be_visible()
    save_screenshot(page, "upload-photo")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    page.locator('input[type="file"]').set_input_files(str(broken))
    expect(page.get_by_text("Could not read broken.png")).to_be_visible(timeout=60_000)
    # The page keeps working after a bad upload.
    page.get_by_role("tab", name="Draw").click()
    draw(page, ONE)
    expect(prediction(page)).to_have_text("Prediction1", timeout=60_000)
