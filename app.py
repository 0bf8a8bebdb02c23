"""The dashboard's entry point: `streamlit run app.py`. Pages live in `pages/`.

The pages carry no icon here: Streamlit would make a Material icon the tab's icon, fetched from
Google's servers; each page sets the app's own (`handwritten.ui.page.ICON`) instead.
"""

import streamlit as st

from handwritten.ui.page import PAGES

pages = [
    st.Page(path, title=label, default=index == 0)
    for index, (path, label, _icon) in enumerate(PAGES)
]
st.navigation(pages, position="hidden").run()
