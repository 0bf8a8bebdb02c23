"""Samples page: your own handwriting, saved from the Draw page, for fine-tuning."""

import streamlit as st

from handwritten.data.samples import SampleStore
from handwritten.figures.prediction import sample_counts
from handwritten.ui import samples_view as view
from handwritten.ui.page import setup_page

setup_page("Samples")
st.title("My samples")
st.caption(
    "Digits are regional: a crossed 7 or a 1 with a long flag can confuse a model trained on "
    "MNIST. Save your drawings with the right label on the Draw page, then fine-tune on the "
    "Train page (or `handwritten finetune`)."
)
store = SampleStore()
view.show_message()
counts = store.counts()
st.metric("Samples", sum(counts))
st.plotly_chart(sample_counts(counts), key="samples_counts", config={"displayModeBar": False})
view.browse(store)
st.subheader("Export and import")
view.import_export(store)
