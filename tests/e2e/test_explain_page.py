"""Explain in a real browser: draw on the Draw page, open Explain, every chart renders."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import save_screenshot
from .drawing import SEVEN, draw, prediction


def test_explain_shows_filters_and_feature_maps_for_the_drawing(page: Page, app_url: str) -> None:
    page.goto(app_url)
    draw(page, SEVEN)
    expect(prediction(page)).to_have_text("Prediction7", timeout=60_000)
    page.get_by_role("link", name="Explain").click()
    expect(page.get_by_text("reads 7")).to_be_visible(timeout=60_000)
    page.get_by_role("tab", name="Filters").click()
    expect(page.get_by_text("learned 3×3 filters")).to_be_visible(timeout=60_000)
    page.get_by_role("tab", name="Feature maps").click()
    panel = page.get_by_role("tabpanel", name="Feature maps")
    expect(panel.get_by_text("conv1 (conv, 28×28×32): 32 maps")).to_be_visible(timeout=60_000)
    panel.get_by_label("Layer").click()
    page.get_by_role("option", name="pool2 (pool, 7×7×64)").click()
    expect(panel.get_by_text("pool2 (pool, 7×7×64): 64 maps")).to_be_visible(timeout=60_000)
    expect(panel.get_by_text("Pooling has no filter")).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    charts = panel.locator(".main-svg")
    expect(charts.first).to_be_visible()
    save_screenshot(page, "explain-feature-maps")
