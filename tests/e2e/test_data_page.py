"""The Data page in a real browser: click a confusion-matrix cell, see its misread test images."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import save_screenshot

# The confusion heatmap's counts, and the page position of a cell's centre (Plotly's axes map
# data to pixels inside the plot area; l2p + _offset is what Plotly itself uses for hover).
COUNTS = """() => {
  const plots = [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')];
  const plot = plots.find(p => p._fullData && p._fullData.some(t => t.type === 'heatmap'));
  return plot ? plot._fullData[0].text.map(row => row.map(c => Number(c || 0))) : null;
}"""
CELL_CENTRE = """([pred, truth]) => {
  const plots = [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')];
  const plot = plots.find(p => p._fullData && p._fullData.some(t => t.type === 'heatmap'));
  const {xaxis, yaxis} = plot._fullLayout;
  const box = plot.getBoundingClientRect();
  return [box.left + xaxis._offset + xaxis.l2p(pred), box.top + yaxis._offset + yaxis.l2p(truth)];
}"""


def test_clicking_a_confusion_cell_shows_its_misread_images(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/data")
    expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text("The average digit")).to_be_visible(timeout=60_000)
    page.get_by_role("tab", name="mistakes").click()
    # The shipped model misreads (or declines) many synthetic digits; the worst cell is chosen
    # at first.
    expect(page.get_by_text(re.compile(r"misread as (\d|not a digit)"))).to_be_visible(
        timeout=60_000
    )
    page.wait_for_function(f"({COUNTS})() !== null", timeout=60_000)
    counts = page.evaluate(COUNTS)
    mistakes = sorted(
        (
            (counts[t][p], t, p)
            for t in range(10)
            for p in range(len(counts[t]))
            if t != p and counts[t][p]
        ),
        reverse=True,
    )
    assert len(mistakes) >= 2, counts
    count, true, predicted = mistakes[1]  # not the cell shown at first
    x, y = page.evaluate(CELL_CENTRE, [predicted, true])
    page.mouse.click(x, y)
    answer = "not a digit" if predicted == 10 else predicted  # the 11th column: declined
    heading = re.compile(rf"{count} test images? of {true} misread as {answer},")
    expect(page.get_by_text(heading)).to_be_visible(timeout=60_000)
    # The cell's images: the last chart whose captions name test indices (the explorer's tab
    # comes before it, the Calibration tab's reliability diagram after it).
    grid = (
        page.locator('[data-testid="stPlotlyChart"]')
        .filter(has=page.locator(".annotation-text", has_text=re.compile(r"#\d+")))
        .last
    )
    tiles = grid.locator(".annotation-text")
    expect(tiles).to_have_count(min(count, 40), timeout=60_000)
    expect(tiles.first).to_contain_text(re.compile(r"#\d+"))
    expect(page.get_by_role("combobox", name="True digit")).to_have_value(str(true))
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    save_screenshot(page, "data-confusion-cell")
