"""Train page (launch runs, watch them stream): arrives with its own issue."""

import streamlit as st

from handwritten.ui.page import setup_page

setup_page("Train")
st.title("Train")
st.info("Launching and watching training runs from the browser is coming next.")
