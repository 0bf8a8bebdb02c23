"""The Train page's network builder in a real browser: build a network, see its costs, train it
and watch its curve grow."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import save_screenshot
from .test_train_page import POINTS

SPEC = "conv3x3x8,relu,pool2,dense32,relu"
PARAMETERS = 3 * 3 * 8 + 8 + 14 * 14 * 8 * 32 + 32 + 32 * 10 + 10  # 50,618


def metric(page: Page, label: str, value: str = ""):
    """The metric showing `value` (while a rerun renders, the stale one may linger beside it)."""
    return page.get_by_test_id("stMetric").filter(has_text=f"{label}{value}").first


def test_build_a_network_then_train_it(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/train")
    # The first page of a fresh server loads and warms up the model: slow on a busy machine.
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=90_000)
    page.get_by_label("Architecture").click()
    page.get_by_role("option", name=re.compile(r"^custom")).click()
    spec = page.get_by_role("textbox", name="Layer spec", exact=True)
    expect(metric(page, "Parameters", "105,866")).to_be_visible(timeout=30_000)
    spec.fill(SPEC)
    spec.press("Enter")
    expect(metric(page, "Parameters", f"{PARAMETERS:,}")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Add layer").click()  # the default choice, conv3x3x16
    expect(spec).to_have_value(f"{SPEC},conv3x3x16", timeout=20_000)
    expect(page.get_by_text("layer 6 'conv3x3x16': needs an image")).to_be_visible()
    page.get_by_role("button", name="✕").last.click()  # remove it again
    expect(spec).to_have_value(SPEC, timeout=20_000)
    expect(metric(page, "Time per epoch (measured)")).to_contain_text(re.compile(r"\d s$"),
                                                                     timeout=90_000)  # fmt: skip
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("100")
    epochs.press("Tab")
    save_screenshot(page, "train-builder")
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("status: running")).to_be_visible(timeout=60_000)
    page.wait_for_function(f"({POINTS})() >= 2", timeout=90_000)
    seen = page.evaluate(POINTS)
    page.wait_for_function(f"({POINTS})() > {seen}", timeout=90_000)
    save_screenshot(page, "train-builder-running")
    page.get_by_role("button", name="Stop training").click()
    expect(page.get_by_text("The run stopped")).to_be_visible(timeout=30_000)
