"""The dashboard shell: every page renders fully when a cold server is opened at its URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import save_screenshot, start_server


@pytest.mark.parametrize("path, heading", [("train", "Train"), ("explain", "Explain"),
                                           ("data", "Data"), ("", "Draw a digit")])  # fmt: skip
def test_cold_server_opened_at_each_page(
    page: Page, tmp_path: Path, path: str, heading: str
) -> None:
    process, url = start_server(tmp_path / "home")
    try:
        page.goto(f"{url}/{path}")
        # A cold server's first page loads and warms the model: seconds on an idle machine, up
        # to a minute on a crowded 2-core one.
        expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=180_000)
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Active model")).to_be_visible()
        expect(sidebar.get_by_text("MNIST test accuracy")).to_be_visible()
        expect(page.get_by_text("Page not found")).to_have_count(0)
        save_screenshot(page, f"cold-{path or 'draw'}")
    finally:
        process.terminate()
        process.wait(timeout=20)
