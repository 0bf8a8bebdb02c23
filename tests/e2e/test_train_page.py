"""The Train page in a real browser: start a run, watch its curve grow, stop it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import save_screenshot

POINTS = """() => {
  const plot = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  return plot && plot._fullData && plot._fullData.length ? plot._fullData[0].x.length : 0;
}"""


def test_start_watch_and_stop_a_run(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/train")
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=90_000)
    page.get_by_label("Epochs", exact=True).fill("100")
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("status: running")).to_be_visible(timeout=60_000)
    # The live chart grows as the job appends metrics (Plotly 6 keeps points in _fullData).
    page.wait_for_function(f"({POINTS})() >= 2", timeout=60_000)
    seen = page.evaluate(POINTS)
    page.wait_for_function(f"({POINTS})() > {seen}", timeout=60_000)
    expect(page.get_by_text("images/s")).to_be_visible()
    save_screenshot(page, "train-running")
    page.get_by_role("button", name="Stop training").click()
    # At once, while the job finishes its step and its final evaluation.
    expect(page.get_by_text("Stopping…")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Stop training")).to_have_count(0)
    expect(page.get_by_text("The run stopped")).to_be_visible(timeout=90_000)
    expect(page.get_by_text("status: stopped")).to_be_visible()
    save_screenshot(page, "train-stopped")
