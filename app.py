"""The dashboard's entry point: `streamlit run app.py`. Pages live in `pages/`."""

import streamlit as st

pages = [
    st.Page("pages/draw.py", title="Draw", icon=":material/draw:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/monitoring:", url_path="train"),
    st.Page("pages/explain.py", title="Explain", icon=":material/biotech:", url_path="explain"),
    st.Page("pages/data.py", title="Data", icon=":material/dataset:", url_path="data"),
]
st.navigation(pages).run()
