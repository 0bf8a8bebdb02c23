"""The dashboard's entry point: `streamlit run app.py`."""

import streamlit as st

from handwritten.ui.resources import active_predictor, sidebar_model_info

st.set_page_config(page_title="handwritten", page_icon="✍️", layout="wide")
sidebar_model_info()
st.title("handwritten")
info = active_predictor().info
if info is not None and info.test_accuracy is not None:
    st.write(f"Active model **{info.name}** ({info.arch}): {info.test_accuracy:.2%} on MNIST test.")
