"""Draw page: sketch a digit (mouse, pen or touch) or upload a photo; see the answer live.

The drawing tab is a fragment: a stroke reruns only the canvas and its answer, not the page
around it (the browser then redraws less per stroke; `benchmarks/serve_load.py` measures it).
"""

import numpy as np
import streamlit as st

from handwritten.data.preprocess import MAX_UPLOAD_BYTES
from handwritten.recognition.predictor import Prediction, Predictor
from handwritten.ui import state
from handwritten.ui.cache import active_predictor
from handwritten.ui.canvas import SCHEMES, canvas_buttons, drawing_canvas, forget_drawing
from handwritten.ui.compare_view import compare_panel
from handwritten.ui.page import setup_page
from handwritten.ui.result import predict_or_explain, show_pipeline, show_prediction
from handwritten.ui.samples_view import save_as


@st.fragment
def drawing_tab(predictor: Predictor) -> None:
    """The canvas, its answer, and the views of that answer."""
    # On a phone the columns stack: canvas, Undo/Clear, then the answer, all on the first screen.
    left, right = st.columns([1, 1], gap="large")
    with left:
        image = drawing_canvas(st.session_state[state.BRUSH], st.session_state[state.SCHEME])
        canvas_buttons()
    with right:
        drawn = answer(predictor, image)
    with st.expander("Brush and colours", icon=":material/brush:"):
        brush, scheme = st.columns(2)
        brush.slider("Brush width", 5, 40, key=state.BRUSH)
        scheme.selectbox("Colours", list(SCHEMES), key=state.SCHEME, on_change=forget_drawing)
    st.toggle("How the model sees it", key=state.SHOW_PIPELINE)
    st.toggle("Compare models", key=state.COMPARE, help="Every registered model's answer")
    if image is not None and drawn is not None and drawn.digits and st.session_state[state.COMPARE]:
        st.subheader("Compare models")
        compare_panel(image)
    if drawn is not None and st.session_state[state.SHOW_PIPELINE]:
        show_pipeline(drawn)


def answer(predictor: Predictor, image: np.ndarray | None) -> Prediction | None:
    """The answer beside the canvas: a prompt before any stroke, else the prediction."""
    if image is None:
        st.metric("Prediction", "–")
        st.info("Draw a digit on the canvas (several work too): the answer appears when you "
                "lift the pen.")  # fmt: skip
        return None
    drawn = predict_or_explain(predictor, image, "The canvas sent an unreadable drawing")
    if drawn is not None:
        show_prediction(drawn, calibration=predictor.calibration)
        if drawn.digits:
            save_as(drawn, image)
    return drawn


setup_page("Draw")
predictor = active_predictor()
st.title("Draw a digit")

draw_tab, upload_tab = st.tabs([":material/draw: Draw", ":material/photo_camera: Upload a photo"])
with draw_tab:
    drawing_tab(predictor)

with upload_tab:
    upload = st.file_uploader(
        "A PNG or JPEG of digits (a phone photo of pen or pencil on paper is fine)",
        type=["png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"],
        help=f"Up to {MAX_UPLOAD_BYTES // 1_000_000} MB.",
    )
    if upload is not None:
        uploaded = predict_or_explain(predictor, upload.getvalue(), f"Could not read {upload.name}")
        if uploaded is not None:
            show_prediction(uploaded, calibration=predictor.calibration)
            show_pipeline(uploaded)
