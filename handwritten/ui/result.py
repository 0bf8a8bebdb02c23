"""Show a `Prediction`: the metric people read, confidence, probabilities, digits, pipeline."""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import MutableMapping
from typing import Any

import numpy as np
import streamlit as st

from handwritten.data.preprocess import ImageError
from handwritten.figures.prediction import (
    grouping_image,
    pipeline_steps,
    probability_bars_html,
    to_display,
)
from handwritten.recognition.predictor import Calibration, Prediction, Predictor
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


def threshold_sentence(calibration: Calibration) -> str:
    """The one sentence that says what "unsure" means for this model."""
    cut = f"{calibration.unsure_below:.1%}"  # 91.6%: a whole 92% would look unmet at 91.8%
    if calibration.confident_error is None:
        return (
            f"Answers below {cut} confidence are marked unsure: a fixed cut, since this model "
            "was not calibrated on held-out data."
        )
    if calibration.min_declined is None:  # chosen by the share of wrong answers above it
        return (
            f"Answers below {cut} calibrated confidence are marked unsure: on held-out data, "
            f"answers at or above it were wrong {calibration.confident_error:.1%} of the time."
        )
    declined = f"{calibration.min_declined:.0%}"
    return (
        f"Answers below {cut} calibrated confidence are marked unsure: the lowest cut at which, "
        f"on held-out data, {declined} of the drawings that are not digits get no confident "
        f"digit; confident answers to held-out digit drawings were wrong "
        f"{calibration.confident_error:.1%} of the time."
    )


def show_prediction(prediction: Prediction, *, calibration: Calibration) -> None:
    """Render a prediction (no widgets in it: it may be shown twice on a page)."""
    open_set = prediction.classes > 10
    if prediction.not_a_digit:
        st.metric("Prediction", "not a digit")
        st.warning(
            f"**Not a digit.** {prediction.reason.removeprefix('not a digit: ').capitalize()}. "
            "Letters, symbols, shapes and scribbles are answered this way rather than with a "
            "guessed digit."
        )
        st.html(probability_bars_html(prediction.probabilities, not_a_digit=True))
        return
    if not prediction.digits:
        st.metric("Prediction", "–")
        st.info(f"Draw a digit to see the model's answer ({prediction.reason}).")
        return
    st.metric("Prediction", prediction.digits)
    if prediction.unsure:
        st.warning(_why_unsure(prediction))
        st.caption(threshold_sentence(calibration))
    else:
        st.caption(f"Confidence {prediction.confidence:.1%} (calibrated)")
    if len(prediction.per_digit) == 1:
        st.html(probability_bars_html(prediction.probabilities, not_a_digit=open_set))
        return
    assert prediction.preprocessed is not None
    crops = prediction.preprocessed.digits
    st.image(
        [to_display(crop.centred, 84) for crop in crops],
        caption=[
            f"{label} ({digit.confidence:.0%})"
            for label, digit in zip(_reading_labels(prediction), prediction.per_digit, strict=True)
        ],
    )
    with st.expander("Probabilities per digit"):
        for index, digit in enumerate(prediction.per_digit):
            st.html(
                probability_bars_html(
                    digit.probabilities, f"digit {index + 1}", not_a_digit=open_set
                )
            )


def _why_unsure(prediction: Prediction) -> str:
    if prediction.read_anyway is not None:  # each digit sure, beside a part that is no digit
        return (
            f"Unsure: part of this drawing looks like no digit to the model "
            f"({prediction.read_anyway:.0%} sure), so these digits are read anyway but not "
            "vouched for. Digits that touch often read so: leave a little gap between them."
        )
    return (
        f"Unsure: the model is only {_percent_below(prediction.confidence, prediction.threshold)}"
        " confident. This may not be a digit, or it is written in a way MNIST rarely shows."
    )


def _percent_below(value: float, cut: float) -> str:
    """`value` in whole percent, or with as many decimals (up to two) as it takes not to read
    the same as the cut (91.5%, not "only 92% confident" beside answers below 92% marked
    unsure; 91.55% beside a cut of 91.58%)."""
    for decimals in (0, 1, 2):
        shown = f"{value:.{decimals}%}"
        if shown != f"{cut:.{decimals}%}":
            break
    return shown


def _reading_labels(prediction: Prediction) -> list[str]:
    return ["not a digit" if d.label > 9 else str(d.label) for d in prediction.per_digit]


def show_pipeline(prediction: Prediction) -> None:
    """How the model sees it: which pieces of ink it grouped into which digit, and the steps
    from the drawing to the 28x28 input, so a user sees why position and size do not matter."""
    result = prediction.preprocessed
    if result is None or not result.digits:
        return
    st.subheader("How the model sees it")
    grouping, inputs = st.columns([1, 2])
    grouping.image(grouping_image(result, _reading_labels(prediction)), width="stretch")
    grouping.caption(
        f"{len(result.digits)} group{'s' if len(result.digits) != 1 else ''} of ink: each "
        "way of grouping the pieces was read by the model, and the best reading won (a 5's "
        "hat joins its body, two digits stay apart). Specks are ignored."
    )
    labels = _reading_labels(prediction)
    inputs.image(
        [to_display(crop.centred, 84) for crop in result.digits],
        caption=[f"input: {label}" for label in labels],
    )
    steps = pipeline_steps(result)
    # Fixed-size tiles flow in a row and wrap: a few hundred pixels on a phone, not a column
    # of screen-wide images.
    st.image([image for _, image in steps], caption=[c for c, _ in steps], width=TILE)
    st.caption(
        "Like MNIST: the ink is cropped, scaled to fit 20×20 keeping its shape, its strokes "
        "brought to MNIST's width (any brush from 5 to 40 px), and placed in 28×28 so its "
        "centre of mass is in the middle — so an off-centre or small digit still reads the "
        "same. With several digits, the first one's steps are shown."
    )
