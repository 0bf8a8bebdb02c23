"""Show a `Prediction`: the metric people read, confidence, probabilities, digits, pipeline."""

from __future__ import annotations

from typing import Any

import streamlit as st

from handwritten.data.preprocess import ImageError
from handwritten.figures.prediction import pipeline_steps, probability_bars, to_display
from handwritten.recognition.predictor import Prediction, Predictor

STILL = {"displayModeBar": False}  # bars with nothing to zoom: no toolbar over their labels
TILE = 104  # CSS pixels of one preprocessing step's image: three fit a phone's width


def predict_or_explain(predictor: Predictor, image: Any, failure: str) -> Prediction | None:
    """Predict, or show why the input cannot be read (and keep the page working)."""
    try:
        return predictor.predict(image)
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
