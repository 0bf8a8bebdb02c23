"""The sidebar's model card: which model answers, how good it is, and on what device."""

from __future__ import annotations

import streamlit as st

from handwritten.models.store import active_model
from handwritten.runtime.device import describe_device
from handwritten.ui.cache import active_predictor


@st.cache_resource
def device_label() -> str:
    """What JAX runs on; asked once per process (listing devices initialises the backend)."""
    return describe_device()


def sidebar_model_info() -> None:
    """The active model's name, architecture and MNIST test accuracy, and the device; a banner
    when the promoted model broke and the shipped one answers instead."""
    info = active_predictor().info
    with st.sidebar:
        if warning := active_model().warning:  # say so, and keep every page working
            st.warning(f"{warning[:1].upper()}{warning[1:]}.", icon=":material/warning:")
        st.caption("Active model")
        if info is not None:
            st.markdown(f"**{info.name}**  \n`{info.arch}`")
            if info.test_accuracy is not None:
                st.metric("MNIST test accuracy", f"{info.test_accuracy:.2%}")
        st.caption(f"Device: {device_label()}")
