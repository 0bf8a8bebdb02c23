"""Read-only resources shared by every session (`st.cache_resource`): the active predictor
and the MNIST splits."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from handwritten.data.mnist import Split, load_split
from handwritten.models.store import active_model, checkpoint_for
from handwritten.recognition.predictor import Predictor
from handwritten.runtime.device import describe_device
from handwritten.storage.paths import data_dir


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _predictor(checkpoint: str, modified: float) -> Predictor:
    """One warmed-up predictor per checkpoint version; never mutated after creation."""
    predictor = Predictor.load(checkpoint)
    predictor.warm_up()
    return predictor


def active_predictor() -> Predictor:
    """The active model; keyed by path and mtime so a promotion takes effect at once."""
    path = checkpoint_for("default")
    return _predictor(str(path), path.stat().st_mtime)


@st.cache_resource
def device_label() -> str:
    return describe_device()


def sidebar_model_info() -> None:
    predictor = active_predictor()
    info = predictor.info
    with st.sidebar:
        if warning := active_model().warning:  # the promoted model broke: say so, keep working
            st.warning(f"{warning[:1].upper()}{warning[1:]}.", icon=":material/warning:")
        st.caption("Active model")
        if info is not None:
            st.markdown(f"**{info.name}**  \n`{info.arch}`")
            if info.test_accuracy is not None:
                st.metric("MNIST test accuracy", f"{info.test_accuracy:.2%}")
        st.caption(f"Device: {device_label()}")


@st.cache_resource(show_spinner="Reading MNIST…", max_entries=4)
def _mnist_split(split: str, directory: str) -> Split:
    return load_split(split, Path(directory))  # a DataError propagates and is never cached


def mnist_split(split: str, directory: str | None = None) -> Split:
    """One MNIST split from `directory` (default: the cache folder), read once and shared by
    every page and session. Raises `DataError` until `handwritten data fetch` has run; that is
    checked again on every call."""
    return _mnist_split(split, directory or str(data_dir()))
