"""Drawing on the canvas like a person: mouse strokes, or touch through CDP."""

from __future__ import annotations

import itertools

from playwright.sync_api import Locator, Page, expect

# Strokes in a 320 px canvas's coordinates.
ONE = [[(160, 50), (160, 270)]]
SEVEN = [[(90, 60), (230, 60), (130, 270)]]
ZERO = [[(160, 50), (230, 100), (235, 220), (160, 275), (90, 220), (85, 100), (160, 50)]]
# A regional form (`handwritten.data.regional`): a crossed 7.
CROSSED_SEVEN = [[(90, 60), (230, 60), (140, 270)], [(120, 165), (220, 165)]]
# A letter drawn as people draw it (two strokes), and a 5 whose hat is not joined to its body.
LETTER_A = [[(70, 270), (160, 50), (250, 270)], [(110, 180), (210, 180)]]
FIVE_DETACHED_HAT = [[(120, 60), (225, 60)],
                     [(115, 80), (110, 150), (180, 145), (220, 190), (210, 250), (150, 275),
                      (100, 255)]]  # fmt: skip


def canvas(page: Page) -> Locator:
    locator = page.locator("canvas.upper-canvas")
    expect(locator).to_be_visible(timeout=60_000)
    return locator


def draw(page: Page, strokes: list[list[tuple[int, int]]]) -> None:
    box = canvas(page).bounding_box()
    assert box is not None
    for points in strokes:
        x, y = points[0]
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=12)
        page.mouse.up()


def touch_stroke(page: Page, points: list[tuple[int, int]]) -> None:
    box = canvas(page).bounding_box()
    assert box is not None
    cdp = page.context.new_cdp_session(page)

    def send(kind: str, x: float | None = None, y: float | None = None) -> None:
        touch = [] if x is None else [{"x": box["x"] + x, "y": box["y"] + y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch})

    send("touchStart", *points[0])
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        for step in range(1, 13):
            t = step / 12
            send("touchMove", x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
    send("touchEnd")


def prediction(page: Page) -> Locator:
    return page.locator('[data-testid="stMetric"]').filter(has_text="Prediction").first
