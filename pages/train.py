"""Train page: launch a real training run, watch it stream, stop it, compare and promote runs."""

import streamlit as st

from handwritten.ui.history_view import history_panel
from handwritten.ui.mnist_view import mnist_ready
from handwritten.ui.page import setup_page
from handwritten.ui.training import demo_button, finetune_form, live_panel, new_run_form

setup_page("Train")
st.title("Train")
st.caption(
    "Runs train in their own process, one at a time on this machine: closing the tab does not "
    "stop them, and every tab (and the CLI) sees the same run."
)
data_ready = mnist_ready("Training")
demo_button(data_ready)
with st.expander("New run", expanded=True):
    new_run_form(data_ready)
with st.expander("Fine-tune on my samples"):
    finetune_form(data_ready)
st.subheader("Current run")
live_panel()
st.subheader("Run history")
history_panel()
