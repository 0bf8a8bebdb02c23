"""Explain page panels: the input as numbers, convolution by hand, filters, feature maps,
saliency, the embedding map and the robustness probe, all for the active model.

The page reads the active model's `FileVersion` once per rerun (`model_view`) and every panel
uses that version, so a promotion mid-rerun cannot mix two models on one page.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import streamlit as st

from handwritten.analysis import network as explain
from handwritten.data.mnist import DataError, Split
from handwritten.data.preprocess import luminance
from handwritten.figures import network as plots
from handwritten.figures.colours import DIVERGING, MAGNITUDE
from handwritten.figures.prediction import probability_bars
from handwritten.models.architectures import DigitModel
from handwritten.models.store import active_version
from handwritten.recognition.predictor import Prediction, Predictor
from handwritten.storage.files import FileVersion
from handwritten.storage.paths import data_dir
from handwritten.ui import cache, state

EMBEDDING_DIGITS = 2000


class ModelView(NamedTuple):
    """One model version as the page uses it: the predictor, a read-only module view of its
    weights, and its layer description."""

    version: FileVersion
    predictor: Predictor
    model: DigitModel
    layers: list[explain.LayerInfo]


@st.cache_resource(show_spinner=False, max_entries=4)
def _model_view(version: FileVersion) -> tuple[DigitModel, list[explain.LayerInfo]]:
    """The module view and layers of exactly the checkpoint `version` names."""
    model = cache.predictor(version).model
    return model, explain.describe_layers(model)


def require_explainable() -> None:
    """Stop the page with a note when the active model is an imported ONNX model: it answers,
    but has no layers, weights or gradients to open here."""
    predictor = cache.active_predictor()
    if predictor.explainable:
        return
    name = predictor.info.name if predictor.info else "the active model"
    st.info(
        f"The active model, **{name}**, is an imported ONNX model: it answers on the Draw page, "
        "but has no layers to open here. Promote a run trained here (Train page) to explain it."
    )
    st.stop()


def model_view() -> ModelView:
    """The active model, every part of it from the same checkpoint version."""
    version = active_version()
    model, layers = _model_view(version)
    return ModelView(version, cache.predictor(version), model, layers)


def mnist_test() -> Split | None:
    """The MNIST test set, or None until `handwritten data fetch` has run (checked each time)."""
    try:
        return cache.mnist_split("test")
    except DataError:
        return None


@st.cache_resource(show_spinner="Mapping 2,000 test digits (once per model)…", max_entries=4)
def _embedding(version: FileVersion, directory: str) -> explain.Embedding:
    """The embedding of the MNIST test digits in `directory` by the model `version` names."""
    model, _ = _model_view(version)
    subset = cache.mnist_split("test", directory).subset(EMBEDDING_DIGITS)
    return explain.cached_embedding(model, version, subset.images_nhw, subset.labels_n)


def input_panel(prediction: Prediction) -> None:
    assert prediction.preprocessed is not None
    image = prediction.preprocessed.digits[0].centred
    st.markdown(
        "To the network, your drawing is a **28 × 28 matrix of numbers** (0 = black, "
        "1 = white ink). Hover to read them."
    )
    left, right = st.columns([1, 1])
    left.plotly_chart(plots.matrix_heatmap(image, "model input (28×28)"), key="x_matrix")
    right.plotly_chart(
        probability_bars(prediction.per_digit[0].probabilities, "its answer"), key="x_probs"
    )
    rgba = prediction.preprocessed.original
    st.markdown(
        "The canvas sends **four channels** (red, green, blue, alpha = opacity); they "
        "are combined into one grayscale channel (0.299 R + 0.587 G + 0.114 B, "
        "composited over the background) before cropping and centring."
    )
    st.plotly_chart(plots.rgba_channels(rgba, luminance(rgba)), key="x_channels")


def convolution_panel(image: np.ndarray) -> None:
    st.markdown(
        "A convolution slides a small **kernel** over the image; each output pixel is "
        "the sum of the window × kernel. The Sobel-Feldman kernels find edges."
    )
    gx, gy, magnitude = explain.sobel(image)
    st.plotly_chart(
        plots.heatmap_row(
            [image, gx, gy, magnitude],
            ["input", "horizontal change (Sobel x)", "vertical change (Sobel y)", "edge strength"],
            colorscale=DIVERGING,
            symmetric=True,
        ),
        key="conv_sobel",
    )
    row_col, kernel_col = st.columns([2, 1])
    row = row_col.slider("Row", 0, 27, 14, key="explain_conv_row")
    col = row_col.slider("Column", 0, 27, 10, key="explain_conv_col")
    name = kernel_col.radio("Kernel", ["Sobel x", "Sobel y"], key="explain_conv_kernel")
    kernel = explain.SOBEL_X if name == "Sobel x" else explain.SOBEL_Y
    st.plotly_chart(plots.conv_step(explain.conv_window(image, kernel, row, col)), key="conv_step")


def filters_panel(model: DigitModel, layers: list[explain.LayerInfo]) -> None:
    filters = explain.first_layer_filters(model)
    if filters is None:
        weights = explain.first_dense_weights(model)
        st.info(
            "This model has no convolutions: each hidden unit of its first dense layer "
            "looks at the whole image through its own 28×28 weight pattern."
        )
        if weights is not None:
            st.plotly_chart(
                plots.filter_grid(weights[:64], "first dense layer: 64 units"), key="filters_dense"
            )
        return
    st.plotly_chart(
        plots.filter_grid(
            filters,
            f"first layer: {len(filters)} learned {filters.shape[1]}×"
            f"{filters.shape[2]} filters (red +, blue −)",
        ),
        key="filters_first",
    )
    deeper = [layer for layer in layers if layer.kind == "conv"][1:]
    if deeper:
        layer = st.selectbox(
            "Deeper layer", deeper, format_func=lambda lay: lay.name, key="explain_deeper"
        )
        st.plotly_chart(
            plots.matrix_heatmap(
                explain.kernel_norms(model, layer),
                f"{layer.name}: kernel strength, output × input channel",
                colorscale=MAGNITUDE,
            ),
            key="filters_norms",
        )


def feature_maps_panel(model: DigitModel, image: np.ndarray) -> None:
    shown = 0
    for activation in explain.activations(model, image):
        info, value = activation.info, activation.value
        shape = "×".join(str(d) for d in info.shape)
        if info.kind in ("conv", "pool") and value.ndim == 3:
            st.plotly_chart(
                plots.feature_maps(
                    value, f"{info.name} ({info.kind}, {shape}): {value.shape[-1]} channels"
                ),
                key=f"maps_{info.name}",
            )
            shown += 1
        elif info.kind == "dense" and info.name != "logits":
            st.plotly_chart(
                plots.top_units(value, f"{info.name} (dense, {shape}): top units"),
                key=f"units_{info.name}",
            )
        elif info.name == "logits":
            probabilities = np.exp(value - value.max())
            st.plotly_chart(
                probability_bars(probabilities / probabilities.sum(), "final probabilities"),
                key="maps_final",
            )
    if not shown:
        st.info("This model has no convolution or pooling layers to show as maps.")


def saliency_panel(model: DigitModel, image: np.ndarray, label: int) -> None:
    st.markdown(
        f"Which pixels drove the answer **{label}**: the gradient of its score with "
        "respect to each pixel, times the pixel (red raised the score, blue lowered it)."
    )
    attribution = explain.saliency(model, image, label)
    st.plotly_chart(plots.saliency_overlay(image, attribution), key="saliency")


def embedding_panel(active: ModelView, image: np.ndarray) -> None:
    test = mnist_test()
    if test is None:
        st.warning("The embedding map needs MNIST: run `handwritten data fetch`.")
        return
    embedding = _embedding(active.version, str(data_dir()))
    features = explain.penultimate_features(active.model, image[None])
    neighbours = embedding.neighbours(features)
    st.markdown(
        f"The layer before the answer, for {len(embedding.labels):,} MNIST test digits, "
        "flattened to two dimensions (PCA). Your drawing is the star; circled are its "
        "nearest neighbours in the model's own feature space."
    )
    st.plotly_chart(
        plots.embedding_map(embedding, embedding.project(features)[0], neighbours), key="embedding"
    )
    columns = st.columns(len(neighbours))
    for column, position in zip(columns, neighbours, strict=True):
        index = int(embedding.indices[position])
        column.image(
            test.images_nhw[index], caption=f"{test.labels_n[index]} (#{index})", width="stretch"
        )


def robustness_panel(predictor: Predictor, image: np.ndarray, label: int) -> None:
    st.markdown(
        "The same drawing moved, turned and re-inked **without** re-centring: where "
        "does the answer flip? Cells show the digit read; colour is the confidence in "
        f"**{label}**."
    )
    shifts, turns = explain.probe_grids(predictor.probabilities, image, label)
    left, right = st.columns(2)
    left.plotly_chart(
        plots.probe_heatmap(shifts, "shifted", "right (px)", "down (px)"), key="probe_shift"
    )
    right.plotly_chart(
        plots.probe_heatmap(turns, "rotated and re-inked", "rotation", "stroke"), key="probe_turn"
    )


def source_image() -> np.ndarray | bytes | None:
    """The drawing from the Draw page, an upload, or an MNIST test digit."""
    options = ["My drawing", "Upload an image", "An MNIST test digit"]
    default = 0 if st.session_state.get(state.CANVAS_IMAGE) is not None else 2
    choice = st.radio("Explain", options, index=default, horizontal=True, key="explain_source")
    if choice == options[0]:
        image = st.session_state.get(state.CANVAS_IMAGE)
        if image is None:
            st.info("Draw a digit on the Draw page first; it appears here.")
        return image
    if choice == options[1]:
        upload = st.file_uploader(
            "An image of one digit", type=["png", "jpg", "jpeg", "webp"], key="explain_upload"
        )
        return upload.getvalue() if upload is not None else None
    test = mnist_test()
    if test is None:
        st.warning("MNIST is not in the cache: run `handwritten data fetch`.")
        return None
    index = st.number_input("Test image #", 0, len(test) - 1, 0, key="explain_index")
    return test.images_nhw[int(index)]
