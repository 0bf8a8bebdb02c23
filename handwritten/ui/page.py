"""What every page starts with: page config, session state, the sidebar."""

from __future__ import annotations

import streamlit as st

from handwritten.ui.resources import sidebar_model_info
from handwritten.ui.state import init_state


def setup_page(title: str) -> None:
    """Call first on every page; works both under st.navigation and when run directly."""
    st.set_page_config(
        page_title=f"{title} · handwritten", page_icon=":material/draw:", layout="wide"
    )
    init_state()
    sidebar_model_info()
