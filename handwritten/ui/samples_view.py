"""Personal samples in the dashboard: "save as" on the Draw page and the Samples page panels."""

from __future__ import annotations

import numpy as np
import streamlit as st

from handwritten.data.preprocess import preprocess
from handwritten.data.samples import SampleError, SampleStore
from handwritten.figures.prediction import to_display
from handwritten.recognition.predictor import Prediction

SAVE_LABEL = "samples_save_label"
SAVE_GUESS = "samples_save_guess"  # the answer the label box was last reset to
MESSAGE = "samples_message"  # (kind, text) shown once after a callback


def _save(image: np.ndarray) -> None:
    label = int(st.session_state[SAVE_LABEL])
    prepared = preprocess(image, multi=False)  # the whole drawing is the digit being labelled
    try:
        if prepared.is_blank:
            raise SampleError("the canvas is blank")
        store = SampleStore()
        sample_id = store.add(label, image, prepared.digits[0].centred, source="draw")
        count = store.counts()[label]
        st.session_state[MESSAGE] = (
            "success",
            f"Saved sample #{sample_id} as {label} ({count} samples of {label}).",
        )
    except SampleError as error:
        st.session_state[MESSAGE] = ("error", f"Not saved: {error}")


def save_as(prediction: Prediction, image: np.ndarray) -> None:
    """Label the current drawing (right or wrong) and keep it for fine-tuning."""
    guess = prediction.per_digit[0].label if len(prediction.per_digit) == 1 else 0
    if st.session_state.get(SAVE_GUESS) != guess:  # a new answer: propose it as the label
        st.session_state[SAVE_GUESS] = st.session_state[SAVE_LABEL] = guess
    with st.container(border=True):
        label_col, button_col = st.columns([1, 1], vertical_alignment="bottom")
        label_col.selectbox("This digit is", list(range(10)), key=SAVE_LABEL)
        button_col.button(
            "Save sample",
            on_click=_save,
            args=(image,),
            help="Keep it in your personal samples for fine-tuning",
        )
        show_message()


def show_message() -> None:
    if message := st.session_state.pop(MESSAGE, None):
        kind, text = message
        (st.success if kind == "success" else st.error)(text)


def _delete(ids: list[int]) -> None:
    SampleStore().delete(ids)
    st.session_state[MESSAGE] = ("success", f"Deleted {len(ids)} sample(s).")


def browse(store: SampleStore) -> None:
    counts = store.counts()
    digit = st.segmented_control(
        "Digit",
        list(range(10)),
        default=0,
        key="samples_digit",
        format_func=lambda d: f"{d} ({counts[d]})",
    )
    samples = store.samples(int(digit)) if digit is not None else []
    if not samples:
        st.caption("No samples of this digit yet: draw one on the Draw page and save it.")
        return
    chosen = []
    for row in range(0, len(samples), 8):
        for column, sample in zip(st.columns(8), samples[row : row + 8], strict=False):
            column.image(to_display(sample.image28, 84), caption=f"#{sample.id}")
            if column.checkbox(
                "select", key=f"samples_pick_{sample.id}", label_visibility="collapsed"
            ):
                chosen.append(sample.id)
    st.button(
        f"Delete {len(chosen)} selected", disabled=not chosen, on_click=_delete, args=(chosen,)
    )


def import_export(store: SampleStore) -> None:
    left, right = st.columns(2)
    left.download_button(
        "Export all samples (zip)",
        store.export_zip(),
        file_name="handwritten-samples.zip",
        mime="application/zip",
        disabled=len(store) == 0,
    )
    upload = right.file_uploader("Import a samples zip", type=["zip"], key="samples_import")
    if upload is not None and st.session_state.get("samples_imported") != upload.file_id:
        try:
            count = store.import_zip(upload.getvalue())
        except SampleError as error:
            right.error(f"Nothing imported: {error}")
        else:
            st.session_state["samples_imported"] = upload.file_id
            right.success(f"Imported {count} samples.")
