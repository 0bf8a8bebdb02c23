"""Personal samples in the dashboard: "save as" on the Draw page and the Samples page panels."""

from __future__ import annotations

import numpy as np
import streamlit as st

from handwritten.data.preprocess import preprocess
from handwritten.data.samples import SampleError, SampleStore
from handwritten.figures.prediction import to_display
from handwritten.recognition.predictor import Prediction

SAVE_LABEL = "samples_save_label"
SAVE_DIGITS = "samples_save_digits"  # the labels of several digits, as a string ("710")
SAVE_GUESS = "samples_save_guess"  # the answer the label box was last reset to
MESSAGE = "samples_message"  # (kind, text) shown once after a callback
TILE = 84  # CSS pixels of one sample's image in the browser


def plural(count: int, noun: str) -> str:
    """ "1 sample", "2 samples"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


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
            f"Saved sample #{sample_id} as {label} ({plural(count, 'sample')} of {label}).",
        )
    except SampleError as error:
        st.session_state[MESSAGE] = ("error", f"Not saved: {error}")


def _save_several(image: np.ndarray) -> None:
    """Each digit of a drawing as its own sample, labelled by the typed string, all or none."""
    labels = str(st.session_state[SAVE_DIGITS]).strip()
    prepared = preprocess(image)  # segmented the way the prediction was
    try:
        if not labels.isdigit() or len(labels) != len(prepared.digits):
            raise SampleError(
                f"type one digit for each of the {len(prepared.digits)} digits found, "
                f"left to right (e.g. {'1234567890'[: len(prepared.digits)]})"
            )
        items: list[tuple[int, np.ndarray | bytes, np.ndarray, str]] = [
            (int(label), _crop(image, digit.box, prepared.ink.shape), digit.centred, "draw")
            for label, digit in zip(labels, prepared.digits, strict=True)
        ]
        ids = SampleStore().add_many(items)
        st.session_state[MESSAGE] = (
            "success",
            f"Saved {plural(len(ids), 'sample')} (#{ids[0]}–#{ids[-1]}) as {', '.join(labels)}.",
        )
    except SampleError as error:
        st.session_state[MESSAGE] = ("error", f"Not saved: {error}")


def _crop(
    image: np.ndarray, box: tuple[int, int, int, int], ink_shape: tuple[int, ...]
) -> np.ndarray:
    """One digit's part of the drawing (the box is in the pixels of the ink image, which
    preprocessing may have shrunk)."""
    sy, sx = image.shape[0] / ink_shape[0], image.shape[1] / ink_shape[1]
    top, left, bottom, right = box
    return image[
        int(top * sy) : int(np.ceil(bottom * sy)), int(left * sx) : int(np.ceil(right * sx))
    ]


def save_as(prediction: Prediction, image: np.ndarray) -> None:
    """Label the current drawing (right or wrong) and keep it for fine-tuning; several digits
    are labelled together as a string and saved one sample each."""
    if len(prediction.per_digit) > 1:
        _save_several_box(prediction, image)
        return
    guess = prediction.per_digit[0].label
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


def _save_several_box(prediction: Prediction, image: np.ndarray) -> None:
    guess = prediction.digits
    if st.session_state.get(SAVE_GUESS) != guess:
        st.session_state[SAVE_GUESS] = st.session_state[SAVE_DIGITS] = guess
    with st.container(border=True):
        label_col, button_col = st.columns([1, 1], vertical_alignment="bottom")
        label_col.text_input(
            f"These {len(prediction.per_digit)} digits are", key=SAVE_DIGITS,
            max_chars=len(prediction.per_digit), help="Left to right, one character each.",
        )  # fmt: skip
        button_col.button(
            "Save samples", on_click=_save_several, args=(image,),
            help="Keep each digit as a personal sample for fine-tuning",
        )  # fmt: skip
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
    first = next((d for d, count in enumerate(counts) if count), 0)  # open where samples are
    # Required: clicking the open digit again would otherwise close it and say "no samples".
    digit = st.segmented_control(
        "Digit",
        list(range(10)),
        default=first,
        required=True,
        key="samples_digit",
        format_func=lambda d: f"{d} ({counts[d]})",
        wrap=True,
    )
    samples = store.samples(int(digit))
    if not samples:
        st.caption("No samples of this digit yet: draw one on the Draw page and save it.")
        return
    chosen = []
    with st.container(horizontal=True, key="samples_grid"):  # tiles wrap: compact on a phone
        for sample in samples:
            with st.container(width=TILE):
                st.image(to_display(sample.image28, TILE), caption=f"#{sample.id}")
                if st.checkbox(
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
