"""Explain page (filters, feature maps, saliency): arrives with its own issue."""

import streamlit as st

from handwritten.ui.page import setup_page

setup_page("Explain")
st.title("Explain")
st.info("Opening the network on your drawing (filters, feature maps, saliency) is coming next.")
