"""Data page (MNIST explorer, confusion matrix): arrives with its own issue."""

import streamlit as st

from handwritten.ui.page import setup_page

setup_page("Data")
st.title("Data")
st.info("The MNIST explorer and the active model's confusion matrix are coming next.")
