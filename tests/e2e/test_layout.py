"""Every page at a phone's 390×844 and a laptop's 1280×1000: reached through the sidebar, no
sideways scrolling, no exception, no request leaving the machine; a screenshot of each (in
test-artifacts/) to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import save_screenshot
from .drawing import SEVEN, canvas, draw, prediction, touch_stroke
from .test_phone import PHONE

SIZES = {"phone": PHONE, "desktop": {"viewport": {"width": 1280, "height": 1000}}}
# (sidebar link, heading, something the page shows once it has rendered, whether it has charts)
# (sidebar link, heading, a text shown, a chart that must have drawn: Plotly's, or the Draw
# page's plain-HTML probability bars)
PAGES = [
    ("Train", "Train", "Quick demo run", None),
    ("Explain", "Explain", "reads 7", ".main-svg"),
    ("Data", "Data", "The average digit", ".main-svg"),
    ("Samples", "My samples", "Export and import", ".main-svg"),
    ("Draw", "Draw a digit", "Confidence", ".probability-bars"),
]
# How far the page and Streamlit's own main area reach beyond the window's width.
OVERFLOW = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const page = document.documentElement.scrollWidth - window.innerWidth;
  return Math.max(page, main ? main.scrollWidth - main.clientWidth : 0);
}"""
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")


def go_to(page: Page, link: str, phone: bool) -> None:
    """Navigate as a person would: through the sidebar (opened first on a phone)."""
    if phone:
        page.get_by_test_id("stExpandSidebarButton").tap()
    page.get_by_test_id("stSidebar").get_by_role("link", name=link).click()


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits_the_screen_and_stays_on_this_machine(
    browser: Browser, app_url: str, size: str
) -> None:
    context = browser.new_context(**SIZES[size])
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else outside.append(r.url))
    phone = size == "phone"
    try:
        page.goto(app_url)
        if phone:
            touch_stroke(page, SEVEN[0])
        else:
            draw(page, SEVEN)
        expect(prediction(page)).to_have_text("Prediction7", timeout=60_000)
        for link, heading, shown, chart in PAGES:
            go_to(page, link, phone)
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(
                timeout=60_000
            )
            expect(page.get_by_text(shown).first).to_be_visible(timeout=60_000)
            if chart:
                expect(page.locator(chart).first).to_be_visible(timeout=60_000)
            if link == "Draw":
                expect(canvas(page)).to_be_visible()
            expect(page.locator('[data-testid="stException"]')).to_have_count(0)
            assert page.evaluate(OVERFLOW) <= 0, f"{link} scrolls sideways at {size} size"
            save_screenshot(page, f"{size}-{link.lower()}")
    finally:
        context.close()
    assert outside == [], "the dashboard works offline: nothing is fetched from elsewhere"
