"""The Tour in a real browser: a projector at 1920x1080 with the mouse, a 1024x768 tablet with
touch, the live training chapter, a map of the overview opened large."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from handwritten.training.config import DEMO_PRESET, PRESETS
from handwritten.training.snapshots import is_snapshot_step

from .conftest import SYNTHETIC_TRAIN, save_screenshot
from .drawing import SEVEN, draw, prediction, touch_stroke

# Each chapter's picture, by its chart's key (Streamlit gives the chart's box a st-key-* class).
PICTURES = ["draw_bars", "pixels", "convolution", "filters", "pooling", "dense", "open_map",
            "learning", "failures", "finetune"]  # fmt: skip
SIDEWAYS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return [document.documentElement.scrollWidth - window.innerWidth,
          main.scrollWidth - main.clientWidth];
}"""
# How many points a trace of the learning figure has (0: loss, 1: the drawing's probability).
POINTS = """(trace) => {
  const plot = document.querySelector('.st-key-tour_learning .js-plotly-plot');
  return plot && plot._fullData && plot._fullData[trace] ? plot._fullData[trace].x.length : 0;
}"""
FILTERS = """() => {  // the random-start filter mosaic: [rows, columns] of pixels
  const z = document.querySelector('.st-key-tour_learning .js-plotly-plot')._fullData[2].z;
  return [z.length, z[0].length];
}"""
THUMBNAIL = """([column, position]) => {
  const plot = document.querySelector('.st-key-tour_open_map .js-plotly-plot');
  const markers = plot._fullData[plot._fullData.length - 1];
  const i = markers.customdata.findIndex(c => c[0] === column && c[1] === position);
  const {xaxis, yaxis} = plot._fullLayout;
  const box = plot.getBoundingClientRect();
  return [box.left + xaxis._offset + xaxis.l2p(markers.x[i]),
          box.top + yaxis._offset + yaxis.l2p(markers.y[i])];
}"""


def heading(page: Page, number: int):
    return page.get_by_role("heading", name=f"Chapter {number} of 10")


def open_tour(browser: Browser, app_url: str, **context):
    session = browser.new_context(**context)
    page = session.new_page()
    page.goto(f"{app_url}/tour")
    expect(heading(page, 1)).to_be_visible(timeout=60_000)
    return session, page


def walk_every_chapter(page: Page, next_button, shots: str | None = None) -> None:
    """Next through all ten: a picture each, no exception, nothing wider than the screen."""
    for number, key in enumerate(PICTURES, 1):
        if number > 1:
            next_button()
            expect(heading(page, number)).to_be_visible(timeout=60_000)
        expect(page.locator(f".st-key-tour_{key} .main-svg").first).to_be_visible(timeout=60_000)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        assert page.evaluate(SIDEWAYS) == [0, 0], f"chapter {number} scrolls sideways"
        if shots:
            save_screenshot(page, f"{shots}-{number:02d}-{key}")
    expect(page.get_by_role("button", name="Next")).to_be_disabled()


def test_the_tour_on_a_projector(browser: Browser, app_url: str) -> None:
    session, page = open_tour(browser, app_url, viewport={"width": 1920, "height": 1080})
    draw(page, SEVEN)
    expect(prediction(page)).to_have_text("Prediction7", timeout=30_000)
    walk_every_chapter(page, page.get_by_role("button", name="Next").click, shots="tour-1920")
    page.get_by_role("button", name="Back").click()
    expect(heading(page, 9)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("MNIST-style reads 7")).to_be_visible()
    session.close()


def test_the_tour_on_a_tablet_with_touch(browser: Browser, app_url: str) -> None:
    session, page = open_tour(
        browser, app_url, viewport={"width": 1024, "height": 768}, has_touch=True
    )
    touch_stroke(page, SEVEN[0])
    expect(prediction(page)).to_have_text("Prediction7", timeout=30_000)
    walk_every_chapter(page, page.get_by_role("button", name="Next").tap, shots="tour-1024")
    page.get_by_role("button", name="Back").tap()
    expect(heading(page, 9)).to_be_visible(timeout=30_000)
    session.close()


def test_the_live_chapter_trains_and_the_drawing_climbs(browser: Browser, app_url: str) -> None:
    session, page = open_tour(browser, app_url, viewport={"width": 1920, "height": 1080})
    page.get_by_role("button", name="Use an example digit instead").click()
    expect(prediction(page)).to_have_text("Prediction7", timeout=30_000)
    page.mouse.click(1800, 1000)  # off the buttons: the arrow keys turn the pages
    for number in range(2, 9):
        page.keyboard.press("ArrowRight")
        expect(heading(page, number)).to_be_visible(timeout=60_000)
    train = page.get_by_role("button", name="Train it now")
    expect(train).to_be_enabled(timeout=60_000)  # a job of another test may still be ending
    train.click()
    expect(page.get_by_text("Trained in")).to_be_visible(timeout=180_000)
    # The demo preset on this server's synthetic MNIST (2,048 images, 16 steps at batch 128):
    # a loss point every log_every steps, and every snapshot (0, 1, 2, 4, 8, 16) in the curve.
    demo = PRESETS[DEMO_PRESET]
    steps = SYNTHETIC_TRAIN // demo.batch_size * demo.epochs
    snapshots = [s for s in range(steps) if is_snapshot_step(s, demo.snapshot_every)] + [steps]
    page.wait_for_function(f"({POINTS})(1) === {len(snapshots)}", timeout=30_000)
    assert page.evaluate(POINTS, 0) >= steps // demo.log_every
    assert page.evaluate(FILTERS) == [3 * 6 - 1, 8 * 6 - 1]  # the fast CNN's 24 filters, 5 x 5
    expect(train).to_be_enabled(timeout=30_000)
    save_screenshot(page, "tour-live-trained")
    session.close()


def test_a_map_of_the_overview_opens_large(browser: Browser, app_url: str) -> None:
    session, page = open_tour(browser, app_url, viewport={"width": 1920, "height": 1080})
    page.get_by_role("button", name="Use an example digit instead").click()
    expect(prediction(page)).to_have_text("Prediction7", timeout=30_000)
    for number in range(2, 8):
        page.get_by_role("button", name="Next").click()
        expect(heading(page, number)).to_be_visible(timeout=60_000)
    expect(page.locator(".st-key-tour_open_map .main-svg").first).to_be_visible(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('.st-key-tour_open_map .js-plotly-plot')?._fullData"
    )
    x, y = page.evaluate(THUMBNAIL, [4, 0])  # conv2's first map
    page.mouse.click(x, y)
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=30_000)
    expect(dialog.get_by_text("conv2, map")).to_be_visible(timeout=30_000)
    save_screenshot(page, "tour-map-large")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0, timeout=10_000)
    page.get_by_role("button", name="Back").click()  # a dismissed map stays closed
    expect(heading(page, 6)).to_be_visible(timeout=30_000)
    expect(page.get_by_role("dialog")).to_have_count(0)
    session.close()
