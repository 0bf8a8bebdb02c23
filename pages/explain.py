"""Explain page: open the network on your own drawing, layer by layer."""

import streamlit as st

from handwritten.ui import explain_view as view
from handwritten.ui.mnist_view import mnist_ready
from handwritten.ui.page import setup_page
from handwritten.ui.result import predict_or_explain

setup_page("Explain")
st.title("Explain")
view.require_explainable()
active = view.model_view()
predictor, model, layers = active.predictor, active.model, active.layers
has_mnist = mnist_ready("The embedding map")
source = view.source_image(has_mnist)
prediction = None if source is None else predict_or_explain(predictor, source, "Cannot read it")
if prediction is not None and prediction.not_a_digit:
    st.warning(
        f"**Not a digit.** The model (`{predictor.arch}`) does not read this as any digit "
        f"({prediction.confidence:.0%} sure), so there is no digit to explain. Here is what it "
        "was given:"
    )
    view.input_panel(prediction)
elif prediction is not None and not prediction.digits:
    st.info(f"Nothing to explain: {prediction.reason}.")
elif prediction is not None:
    assert prediction.preprocessed is not None
    image = prediction.preprocessed.digits[0].centred
    label = prediction.per_digit[0].label
    if len(prediction.per_digit) > 1:
        st.caption(f"Several digits found ({prediction.digits}); explaining the first.")
    st.markdown(
        f"The model (`{predictor.arch}`) reads **{label}** "
        f"({prediction.per_digit[0].confidence:.0%})."
    )
    tabs = st.tabs(
        ["Input", "Convolution", "Filters", "Feature maps", "Saliency", "Embedding", "Robustness"]
    )
    with tabs[0]:
        view.input_panel(prediction)
    with tabs[1]:
        view.convolution_panel(image)
    with tabs[2]:
        view.filters_panel(model, layers)
    with tabs[3]:
        view.feature_maps_panel(model, layers, image)
    with tabs[4]:
        view.saliency_panel(model, image, label)
    with tabs[5]:
        view.embedding_panel(active, image)
    with tabs[6]:
        view.robustness_panel(predictor, image, label)
