"""Show a `Prediction`: the metric people read, confidence, probabilities, digits, pipeline."""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import MutableMapping
from typing import Any

import numpy as np
import streamlit as st

from handwritten.data.preprocess import ImageError
from handwritten.figures.prediction import pipeline_steps, probability_bars, to_display
from handwritten.recognition.predictor import Prediction, Predictor
from handwritten.ui import state

REMEMBERED = 4  # predictions a session keeps (the canvas, an upload, the Explain page's input)


def _digest(image: Any) -> str | None:
    """A key for an input's content (None for inputs that are not plain arrays or bytes)."""
    if isinstance(image, np.ndarray):
        header = f"{image.dtype}{image.shape}".encode()
        return hashlib.blake2b(header + np.ascontiguousarray(image).tobytes()).hexdigest()
    if isinstance(image, bytes):
        return hashlib.blake2b(image).hexdigest()
    return None


def remembered_predict(
    memo: MutableMapping[str, Any], predictor: Predictor, image: Any
) -> Prediction:
    """`predictor.predict(image)`, computed once per input and model in `memo` (a session's).

    Streamlit reruns a page for every widget change (a slider, a toggle, a page switch): the
    drawing that did not change is not preprocessed and inferred again, so a rerun's work is
    bounded by what changed. The memo holds at most `REMEMBERED` inputs and is emptied when
    the model changes (a promotion gives a new shared predictor).
    """
    model = memo.get("model")
    if model is None or model() is not predictor:
        memo.clear()
        memo["model"] = weakref.ref(predictor)
        memo["entries"] = {}
    entries: dict[str, Prediction] = memo["entries"]
    key = _digest(image)
    if key is not None and key in entries:
        return entries[key]
    prediction = predictor.predict(image)
    if key is not None:
        entries[key] = prediction
        while len(entries) > REMEMBERED:
            entries.pop(next(iter(entries)))
    return prediction


STILL = {"displayModeBar": False}  # bars with nothing to zoom: no toolbar over their labels
TILE = 104  # CSS pixels of one preprocessing step's image: three fit a phone's width


def predict_or_explain(predictor: Predictor, image: Any, failure: str) -> Prediction | None:
    """Predict (once per drawing, see `remembered_predict`), or show why the input cannot be
    read (and keep the page working)."""
    try:
        return remembered_predict(st.session_state.setdefault(state.PREDICTIONS, {}), predictor,
                                  image)  # fmt: skip
    except ImageError as error:
        st.error(f"{failure}: {error}")
        return None


def show_prediction(prediction: Prediction, *, key: str) -> None:
    """Render a prediction; `key` keeps element ids unique when shown twice on a page."""
    if not prediction.digits:
        st.metric("Prediction", "–")
        st.info(f"Draw a digit to see the model's answer ({prediction.reason}).")
        return
    st.metric("Prediction", prediction.digits)
    if prediction.unsure:
        st.warning(
            f"Unsure: the model is only {prediction.confidence:.0%} confident. This may not be "
            "a digit, or it is written in a way MNIST rarely shows."
        )
    else:
        st.caption(f"Confidence {prediction.confidence:.1%}")
    if len(prediction.per_digit) == 1:
        st.plotly_chart(probability_bars(prediction.probabilities), key=f"{key}_bars", config=STILL)
    else:
        assert prediction.preprocessed is not None
        crops = prediction.preprocessed.digits
        st.image(
            [to_display(crop.centred, 84) for crop in crops],
            caption=[f"{d.label} ({d.confidence:.0%})" for d in prediction.per_digit],
        )
        with st.expander("Probabilities per digit"):
            for index, digit in enumerate(prediction.per_digit):
                st.plotly_chart(
                    probability_bars(digit.probabilities, f"digit {index + 1}"),
                    key=f"{key}_bars_{index}",
                    config=STILL,
                )


def show_pipeline(prediction: Prediction) -> None:
    """The preprocessing steps side by side, so a user sees why position and size do not matter."""
    if prediction.preprocessed is None or not prediction.digits:
        return
    st.subheader("How the model sees it")
    steps = pipeline_steps(prediction.preprocessed)
    # Fixed-size tiles flow in a row and wrap: a few hundred pixels on a phone, not a column
    # of screen-wide images.
    st.image([image for _, image in steps], caption=[c for c, _ in steps], width=TILE)
    st.caption(
        "Like MNIST: the ink is cropped, scaled to fit 20×20 keeping its shape, and placed in "
        "28×28 so its centre of mass is in the middle — so an off-centre or small digit still "
        "reads the same. With several digits, the first one is shown."
    )
