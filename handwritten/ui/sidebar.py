"""The sidebar's model card: which model answers, how good it is, and on what device."""

from __future__ import annotations

import streamlit as st

from handwritten.runtime.device import describe_device
from handwritten.ui.cache import active_predictor


@st.cache_resource
def device_label() -> str:
    """What JAX runs on; asked once per process (listing devices initialises the backend)."""
    return describe_device()


def sidebar_model_info() -> None:
    """The active model's name, architecture and MNIST test accuracy, and the device."""
    info = active_predictor().info
    with st.sidebar:
        st.caption("Active model")
        if info is not None:
            st.markdown(f"**{info.name}**  \n`{info.arch}`")
            if info.test_accuracy is not None:
                st.metric("MNIST test accuracy", f"{info.test_accuracy:.2%}")
        st.caption(f"Device: {device_label()}")
