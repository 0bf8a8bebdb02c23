"""The drawing canvas adapter: streamlit-drawable-canvas in, an RGBA array out.

The canvas keeps the drawing across page switches: Streamlit drops a widget's state when its
page is left, so the latest drawing is kept in session state and handed back as the canvas's
initial drawing when it is mounted again.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from handwritten.ui import state

SIZE = 320  # CSS pixels; at least the 280 px the seed used, small enough for a phone
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
    image = result.image_data
    if image is not None:
        st.session_state[state.CANVAS_JSON] = result.json_data
        st.session_state[state.CANVAS_IMAGE] = np.asarray(image)
    return st.session_state.get(state.CANVAS_IMAGE)


def forget_drawing() -> None:
    """Changing the colours resets the canvas, so drop the stored drawing with it."""
    for key in (state.CANVAS_INITIAL, state.CANVAS_JSON, state.CANVAS_IMAGE):
        st.session_state[key] = None
