"""The drawing canvas adapter: streamlit-drawable-canvas in, an RGBA array out, and the Undo and
Clear buttons.

The canvas keeps the drawing across page switches: Streamlit drops a widget's state when its
page is left, so the latest drawing is kept in session state and handed back as the canvas's
initial drawing when it is mounted again.

The canvas's own toolbar (undo, redo, clear) only appears on hover, which a phone does not
have, so Undo and Clear are ordinary buttons too. They redraw the canvas through its initial
drawing (the stored drawing without its last stroke, or nothing); a counter in that drawing makes
each redraw a new one, and the component then sends the redrawn image back. Until it has, the
component still holds the old drawing, which is ignored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from handwritten.ui import state

SIZE = 320  # CSS pixels; at least the 280 px the seed used, and fits a 360 px wide phone
SCHEMES = {
    # name: (stroke colour, background colour)
    "White on black": ("#ffffff", "#000000"),
    "Black on white": ("#000000", "#ffffff"),
}


def drawing_canvas(stroke_width: int, scheme: str) -> np.ndarray | None:
    """Render the canvas; return the current drawing as RGBA uint8, or None before any stroke."""
    if state.CANVAS not in st.session_state:  # (re)mounted: restore the last drawing
        st.session_state[state.CANVAS_INITIAL] = st.session_state.get(state.CANVAS_JSON)
    stroke, background = SCHEMES[scheme]
    result = st_canvas(
        stroke_width=stroke_width,
        stroke_color=stroke,
        background_color=background,
        height=SIZE,
        width=SIZE,
        drawing_mode="freedraw",
        initial_drawing=st.session_state[state.CANVAS_INITIAL],
        return_image_data=True,
        key=state.CANVAS,
    )
    stale = st.session_state.get(state.CANVAS_STALE)
    if result.json_data is not None and stale is not None and result.json_data == stale:
        return st.session_state.get(state.CANVAS_IMAGE)  # sent before the last Undo/Clear
    image = result.image_data
    if image is not None:
        st.session_state[state.CANVAS_STALE] = None
        st.session_state[state.CANVAS_JSON] = result.json_data
        st.session_state[state.CANVAS_IMAGE] = np.asarray(image)
    return st.session_state.get(state.CANVAS_IMAGE)


def strokes() -> list[Any]:
    """The strokes of the stored drawing (Fabric.js objects), oldest first."""
    drawing = st.session_state.get(state.CANVAS_JSON) or {}
    return list(drawing.get("objects", []))


def canvas_buttons() -> None:
    """Undo and Clear as real, touch-sized buttons side by side (also on a phone)."""
    empty = not strokes()
    with st.container(horizontal=True, key="canvas_buttons"):
        st.button("Undo", icon=":material/undo:", on_click=undo, disabled=empty)
        st.button("Clear", icon=":material/delete:", on_click=clear, disabled=empty)


def undo() -> None:
    """Take back the last stroke."""
    _redraw(strokes()[:-1])


def clear() -> None:
    """Wipe the canvas."""
    _redraw([])


def _redraw(objects: list[Any]) -> None:
    previous = st.session_state.get(state.CANVAS_JSON) or {}
    count = st.session_state[state.CANVAS_REDRAWS] = st.session_state[state.CANVAS_REDRAWS] + 1
    drawing = {**previous, "objects": objects, "redraw": count}  # new each time, even if equal
    if st.session_state.get(state.CANVAS_STALE) is None:  # else the canvas still holds that one
        st.session_state[state.CANVAS_STALE] = st.session_state.get(state.CANVAS_JSON)
    st.session_state[state.CANVAS_INITIAL] = drawing
    st.session_state[state.CANVAS_JSON] = drawing if objects else None
    if not objects:
        st.session_state[state.CANVAS_IMAGE] = None  # the prompt shows at once


def forget_drawing() -> None:
    """Changing the colours resets the canvas, so drop the stored drawing with it."""
    for key in (state.CANVAS_INITIAL, state.CANVAS_JSON, state.CANVAS_IMAGE, state.CANVAS_STALE):
        st.session_state[key] = None
