"""The dashboard's entry point: `streamlit run app.py`. Pages live in `pages/`."""

import streamlit as st

from handwritten.ui.page import PAGES

pages = [
    st.Page(path, title=label, icon=icon, default=index == 0)
    for index, (path, label, icon) in enumerate(PAGES)
]
st.navigation(pages, position="hidden").run()
