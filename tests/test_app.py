"""AppTest: every page renders; the Draw page's logic with faked canvas values and uploads."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from handwritten.ui import state

from .conftest import REPO

PAGES = ["pages/draw.py", "pages/train.py", "pages/explain.py", "pages/data.py", "pages/samples.py"]


def app() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(page: str, at: AppTest | None = None) -> AppTest:
    """Start the app (or reuse `at`) and switch to `page`, failing on any exception."""
    at = at or app()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def seven(mode: str = "RGBA") -> Image.Image:
    image = Image.new(mode, (320, 320), 0)
    ImageDraw.Draw(image).line([(90, 60), (230, 60), (130, 270)], fill=(255,) * len(mode), width=20)
    return image


def fake_canvas(at: AppTest, image: Image.Image, strokes: int = 1) -> None:
    """What streamlit-drawable-canvas 0.13 stores after `strokes` strokes (its private shape)."""
    url = "data:image/png;base64," + base64.b64encode(png(image)).decode()
    objects = [{"type": "path", "stroke": n} for n in range(strokes)]
    at.session_state[state.CANVAS] = {
        "drawing": {"raw": {"objects": objects}, "data": url},
        "backgroundFit": None,
    }
    at.run()
    assert not at.exception, at.exception


def prediction(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == "Prediction")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_the_sidebar(page: str) -> None:
    at = app()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert at.title[0].value
    sidebar = " ".join(str(m.value) for m in at.sidebar.metric)
    assert "%" in sidebar  # the active model's MNIST accuracy
    assert any("Device" in c.value for c in at.sidebar.caption)


def test_blank_canvas_prompts_instead_of_guessing() -> None:
    at = app()
    assert prediction(at) == "–"
    fake_canvas(at, Image.new("RGBA", (320, 320), (0, 0, 0, 255)))
    assert prediction(at) == "–"
    assert any("no digit" in i.value for i in at.info)


def test_drawn_seven_is_read_and_survives_a_page_switch() -> None:
    at = app()
    fake_canvas(at, seven())
    assert prediction(at) == "7"
    assert any("Confidence" in c.value for c in at.caption)
    at.switch_page("pages/train.py").run()
    at.switch_page("pages/draw.py").run()
    assert prediction(at) == "7"


def canvas_button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def test_undo_redraws_without_the_last_stroke_and_clear_prompts_at_once() -> None:
    at = app()
    assert canvas_button(at, "Undo").disabled and canvas_button(at, "Clear").disabled
    fake_canvas(at, seven(), strokes=2)
    canvas_button(at, "Undo").click().run()
    redrawn = at.session_state[state.CANVAS_INITIAL]
    assert redrawn["objects"] == [{"type": "path", "stroke": 0}] and redrawn["redraw"] == 1
    assert prediction(at) == "7", "until the canvas sends the redrawn image"
    canvas_button(at, "Clear").click().run()
    assert at.session_state[state.CANVAS_INITIAL]["objects"] == []
    assert at.session_state[state.CANVAS_INITIAL]["redraw"] == 2, "a new drawing each time"
    # The component still holds the old drawing until it sends the cleared one: ignored.
    assert prediction(at) == "–" and canvas_button(at, "Undo").disabled
    at.run()
    assert prediction(at) == "–"


def test_pipeline_toggle_shows_the_steps() -> None:
    at = app()
    fake_canvas(at, seven())
    at.toggle(key=state.SHOW_PIPELINE).set_value(True).run()
    assert any(s.value == "How the model sees it" for s in at.subheader)
    assert any("centre of mass is in the middle" in c.value for c in at.caption)


def test_changing_colours_forgets_the_drawing() -> None:
    at = app()
    fake_canvas(at, seven())
    at.session_state[state.CANVAS] = {"drawing": {"raw": None, "data": None}}
    at.selectbox(key=state.SCHEME).set_value("Black on white").run()
    assert at.session_state[state.CANVAS_IMAGE] is None
    assert prediction(at) == "–"


def test_upload_of_a_photo_is_read() -> None:
    at = app()
    photo = Image.new("RGB", (400, 300), (230, 228, 220))
    ImageDraw.Draw(photo).line([(200, 40), (200, 260)], fill=(20, 20, 20), width=12)
    at.file_uploader[0].upload("one.png", png(photo), "image/png").run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric if m.label == "Prediction"][-1] == "1"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"hello, not an image", "not an image"),
        (png(seven("L"))[:300], "damaged or truncated"),
        (b"\x89PNG" + bytes(11 * 1024 * 1024), "limit"),
    ],
)
def test_bad_uploads_get_a_message_and_the_page_keeps_working(content: bytes, message: str) -> None:
    at = app()
    at.file_uploader[0].upload("bad.png", content, "image/png").run()
    assert not at.exception, at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    fake_canvas(at, seven())
    assert prediction(at) == "7"


def test_canvas_payload_of_a_strange_shape_is_refused_cleanly() -> None:
    at = app()
    at.session_state[state.CANVAS_IMAGE] = np.zeros((0, 0, 4), np.uint8)
    at.run()
    assert not at.exception, at.exception
    assert any("unreadable drawing" in e.value for e in at.error)
