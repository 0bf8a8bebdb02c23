"""What every page starts with: page config, session state, the sidebar with the page list."""

from __future__ import annotations

import streamlit as st

from handwritten.ui.sidebar import sidebar_model_info
from handwritten.ui.state import init_state

# (script, title, icon); the first is the default page, served at "/".
PAGES = [
    ("pages/draw.py", "Draw", ":material/draw:"),
    ("pages/train.py", "Train", ":material/monitoring:"),
    ("pages/explain.py", "Explain", ":material/biotech:"),
    ("pages/data.py", "Data", ":material/dataset:"),
    ("pages/samples.py", "Samples", ":material/collections_bookmark:"),
]


def setup_page(title: str) -> None:
    """Call first on every page; works both under st.navigation and when run directly.

    The page list is drawn here rather than by Streamlit, so a cold server opened at a page's
    URL (Streamlit's folder mode) shows the same sidebar as one opened at "/".
    """
    st.set_page_config(
        page_title=f"{title} · handwritten", page_icon=":material/draw:", layout="wide"
    )
    init_state()
    with st.sidebar:
        st.markdown("### ✍️ handwritten")
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()
    sidebar_model_info()
