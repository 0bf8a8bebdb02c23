"""Saving a corrected drawing from the Draw page, in a real browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import save_screenshot
from .drawing import ONE, draw, prediction


def test_save_a_corrected_drawing(page: Page, app_url: str) -> None:
    page.goto(app_url)
    draw(page, ONE)
    expect(prediction(page)).to_have_text("Prediction1", timeout=60_000)
    # Say it is really a 7 (a European 7 drawn as a bare stroke, say) and save it.
    page.get_by_label("This digit is").click()
    page.get_by_role("option", name="7", exact=True).click()
    page.get_by_role("button", name="Save sample").click()
    expect(page.get_by_text("as 7 (1 sample of 7)")).to_be_visible(timeout=60_000)
    save_screenshot(page, "draw-save-sample")
    page.get_by_role("link", name="Samples").click()
    expect(page.get_by_role("heading", name="My samples")).to_be_visible(timeout=60_000)
    # The page opens on the digit that has samples; clicking it again keeps it open (it once
    # closed it, and the page said "No samples of this digit yet" beside "7 (1)").
    expect(page.get_by_text("#1", exact=True)).to_be_visible(timeout=60_000)
    seven = page.get_by_role("radio", name="7 (1)")
    expect(seven).to_be_checked()
    seven.click()
    # The picker shows its choice at once: deselected, the 7 would no longer be checked.
    expect(seven).to_be_checked(timeout=10_000)
    expect(page.get_by_text("No samples of this digit yet")).to_have_count(0)
    expect(page.get_by_text("#1", exact=True)).to_be_visible(timeout=60_000)
