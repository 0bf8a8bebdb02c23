"""Train page: launch a real training run, watch it stream, stop it, compare and promote runs."""

import streamlit as st

from handwritten.ui.page import setup_page
from handwritten.ui.training import finetune_form, history_panel, live_panel, new_run_form

setup_page("Train")
st.title("Train")
st.caption(
    "Runs train in their own process, one at a time on this machine: closing the tab does not "
    "stop them, and every tab (and the CLI) sees the same run."
)
with st.expander("New run", expanded=True):
    new_run_form()
with st.expander("Fine-tune on my samples"):
    finetune_form()
st.subheader("Current run")
live_panel()
st.subheader("Run history")
history_panel()
