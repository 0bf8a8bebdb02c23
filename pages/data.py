"""Data page: explore MNIST (balance, average digits, examples) and the active model's mistakes."""

import streamlit as st

from handwritten.ui import data_view as view
from handwritten.ui.page import setup_page

setup_page("Data")
st.title("Data")
data = view.mnist()
if data is not None:
    explorer, mistakes, honesty = st.tabs(
        [
            ":material/dataset: MNIST explorer",
            ":material/rule: The active model's mistakes",
            ":material/balance: Calibration",
        ]
    )
    with explorer:
        view.balance_panel(data)
        view.means_panel(data)
        view.browse_panel(data)
    with mistakes:
        view.errors_panel(data)
    with honesty:
        view.calibration_panel()
