"""The dashboard on a 390×844 touch phone: the answer on the first screen next to the canvas,
touch-sized Undo and Clear, and a sidebar that closes after navigating."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from .conftest import save_screenshot
from .drawing import SEVEN, canvas, prediction, touch_stroke

PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
# How far each scrollable box of the page has scrolled (Streamlit scrolls inside its own
# main area, so window.scrollY alone says little).
SCROLLED = """() => [document.scrollingElement, ...document.querySelectorAll('*')]
  .filter(el => el && (el.scrollTop > 0 || el.scrollLeft > 0)).length"""


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(**PHONE)
    yield context.new_page()
    context.close()


def canvas_button(page: Page, name: str) -> Locator:
    """Our Undo/Clear (the canvas's own hover toolbar has buttons of the same names)."""
    return page.locator(".st-key-canvas_buttons").get_by_role("button", name=name)


def inside_the_first_screen(page: Page, locator: Locator) -> None:
    box = locator.bounding_box()
    assert box is not None
    viewport = page.viewport_size
    assert viewport is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], box


def test_the_answer_is_on_the_first_screen_of_a_phone(phone: Page, app_url: str) -> None:
    phone.goto(app_url)
    touch_stroke(phone, SEVEN[0])
    expect(prediction(phone)).to_have_text("Prediction7", timeout=60_000)
    assert phone.evaluate(SCROLLED) == 0, "the page did not scroll"
    inside_the_first_screen(phone, prediction(phone))
    inside_the_first_screen(phone, canvas(phone))
    for name in ("Undo", "Clear"):
        button = canvas_button(phone, name)
        inside_the_first_screen(phone, button)
        box = button.bounding_box()
        assert box is not None and box["height"] >= 40 and box["width"] >= 64, (name, box)
    save_screenshot(phone, "phone-draw-7")


def test_undo_and_clear_are_buttons_that_work_by_touch(phone: Page, app_url: str) -> None:
    phone.goto(app_url)
    touch_stroke(phone, [(240, 50), (240, 270)])
    expect(prediction(phone)).to_have_text("Prediction1", timeout=60_000)
    touch_stroke(phone, [(80, 50), (80, 270)])
    expect(prediction(phone)).to_have_text("Prediction11", timeout=60_000)
    canvas_button(phone, "Undo").tap()
    expect(prediction(phone)).to_have_text("Prediction1", timeout=60_000)
    canvas_button(phone, "Clear").tap()
    expect(prediction(phone)).to_have_text("Prediction–", timeout=60_000)
    expect(canvas_button(phone, "Undo")).to_be_disabled()


def test_the_sidebar_closes_after_navigating_on_a_phone(phone: Page, app_url: str) -> None:
    phone.goto(app_url)
    canvas(phone)
    sidebar = phone.get_by_test_id("stSidebar")
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    phone.get_by_test_id("stExpandSidebarButton").tap()
    expect(sidebar).to_have_attribute("data-collapsed", "false")
    sidebar.get_by_role("link", name="Train").tap()
    expect(phone.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=60_000)
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    phone.get_by_role("button", name="Quick demo run").click(trial=True)  # nothing lies over it
