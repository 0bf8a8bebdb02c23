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
from handwritten.data.ink import luminance
from handwritten.data.mnist import DataError, Split
from handwritten.figures import network as plots
from handwritten.figures.colours import DIVERGING, MAGNITUDE
from handwritten.figures.prediction import probability_bars, to_display
from handwritten.models.architectures import DigitModel
from handwritten.models.store import active_version
from handwritten.recognition.predictor import Prediction, Predictor
from handwritten.storage.files import FileVersion
from handwritten.storage.paths import data_dir
from handwritten.ui import cache, state

EMBEDDING_DIGITS = 2000
STILL = {"displayModeBar": False}  # pictures with nothing to zoom: no toolbar over their titles


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
    """The MNIST test set, or None while it is not here (the page's MNIST panel says why)."""
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
    left.plotly_chart(
        plots.matrix_heatmap(image, "model input (28×28)"), key="x_matrix", config=STILL
    )
    right.plotly_chart(
        probability_bars(
            prediction.per_digit[0].probabilities, "its answer", not_a_digit=prediction.classes > 10
        ),
        key="x_probs",
        config=STILL,
    )
    rgba = prediction.preprocessed.original
    st.markdown(
        "The canvas sends **four channels** (red, green, blue, alpha = opacity), each shown from "
        "0 (black) to 1 (white); they are combined into one gray channel (0.299 R + 0.587 G + "
        "0.114 B, composited over the background) before cropping and centring. Alpha is white "
        "everywhere the picture is opaque: all of a canvas drawing, since the canvas paints its "
        "background."
    )
    st.plotly_chart(plots.rgba_channels(rgba, luminance(rgba)), key="x_channels", config=STILL)


def convolution_panel(image: np.ndarray) -> None:
    st.markdown(
        "A convolution slides a small **kernel** over the image; each output pixel is "
        "the sum of the window × kernel. The Sobel-Feldman kernels find edges: **Sobel x** "
        "responds to left-right changes (vertical edges), **Sobel y** to up-down changes, and "
        "**edges** combines both. Red is positive, blue negative."
    )
    gx, gy, magnitude = explain.sobel(image)
    st.plotly_chart(
        plots.heatmap_row(
            [image, gx, gy, magnitude],
            ["input", "Sobel x", "Sobel y", "edges"],
            colorscale=DIVERGING,
            symmetric=True,
        ),
        key="conv_sobel",
        config=STILL,
    )
    row_col, kernel_col = st.columns([2, 1])
    row = row_col.slider("Row", 0, 27, 14, key="explain_conv_row")
    col = row_col.slider("Column", 0, 27, 10, key="explain_conv_col")
    name = kernel_col.radio("Kernel", ["Sobel x", "Sobel y"], key="explain_conv_kernel")
    kernel = explain.SOBEL_X if name == "Sobel x" else explain.SOBEL_Y
    st.caption(
        "The 3×3 window of the input at that pixel, the kernel, and their products: the products' "
        "sum is the output pixel."
    )
    st.plotly_chart(
        plots.conv_step(explain.conv_window(image, kernel, row, col)), key="conv_step",
        config=STILL,
    )  # fmt: skip


def filters_panel(model: DigitModel, layers: list[explain.LayerInfo]) -> None:
    filters = explain.first_layer_filters(model)
    if filters is None:
        _dense_weights(model)
        return
    size = f"{filters.shape[1]}×{filters.shape[2]}"
    st.markdown(
        f"**What you see:** the first layer's {len(filters)} learned filters, each a {size} "
        "grid of weights, magnified. The network slides each one over your drawing and adds up "
        "window × weights: red weights reward ink there, blue ones penalise it, so each filter "
        "looks for one small pattern (an edge, a corner, a stroke in one direction)."
    )
    st.plotly_chart(
        plots.filter_grid(filters, f"first layer: {len(filters)} learned {size} filters"),
        key="filters_first", config=STILL,
    )  # fmt: skip
    deeper = [layer for layer in layers if layer.kind == "conv"][1:]
    if not deeper:
        return
    st.markdown(
        "**Deeper layers** work on the maps of the layer before: each of their filters holds "
        f"one {size} kernel per input map. The heatmap shows how strongly each of the layer's "
        "maps (row) reads each input map (column); bright is a strong kernel."
    )
    layer = st.selectbox(
        "Deeper layer", deeper, format_func=lambda lay: lay.name, key="explain_deeper"
    )
    st.plotly_chart(
        plots.matrix_heatmap(
            explain.kernel_norms(model, layer), f"{layer.name}: kernel strength",
            colorscale=MAGNITUDE, axes=("input map (of the layer before)", f"{layer.name} map"),
            legend="kernel strength",
        ),
        key="filters_norms", config=STILL,
    )  # fmt: skip


def _dense_weights(model: DigitModel) -> None:
    """An MLP's first layer: each unit's 28×28 weights, the pattern it responds to."""
    st.markdown(
        "**What you see:** this model has no convolutions, so each unit of its first dense "
        "layer looks at the whole 28×28 image through its own weights: red pixels raise the "
        "unit's value where there is ink, blue ones lower it. 64 of its units:"
    )
    weights = explain.first_dense_weights(model)
    if weights is not None:
        st.plotly_chart(
            plots.filter_grid(weights[:64], "first dense layer: 64 units"), key="filters_dense",
            config=STILL,
        )  # fmt: skip


MAP_LAYER = "explain_map_layer"
MAP_CHANNEL = "explain_map_channel"


def feature_maps_panel(
    model: DigitModel, layers: list[explain.LayerInfo], image: np.ndarray
) -> None:
    """One layer's maps at the page's width; one of them enlarged beside its filter; the dense
    layers' most active units."""
    values = explain.activations(model, image)
    maps = [a for a in values if a.info.kind in ("conv", "pool") and a.value.ndim == 3]
    if maps:
        _maps_section(model, layers, maps)
    else:
        st.info("This model has no convolution or pooling layers to show as maps.")
    _dense_section(values)


def _shape(info: explain.LayerInfo) -> str:
    return "×".join(str(d) for d in info.shape)


def _first_channel() -> None:
    st.session_state[MAP_CHANNEL] = 0


def _maps_section(
    model: DigitModel, layers: list[explain.LayerInfo], maps: list[explain.LayerActivation]
) -> None:
    st.markdown(
        "**What you see:** each small square is one *channel* of the chosen layer: your drawing "
        "after one of the layer's filters, bright where the filter found its pattern and dark "
        "where it did not (each square scaled to its own strongest value). Pooling layers keep "
        "the channels at half the size."
    )
    by_name = {a.info.name: a for a in maps}
    left, right = st.columns(2)
    name = left.selectbox(
        "Layer", list(by_name), key=MAP_LAYER, on_change=_first_channel,
        format_func=lambda n: f"{n} ({by_name[n].info.kind}, {_shape(by_name[n].info)})",
    )  # fmt: skip
    chosen = by_name[name]
    channels = chosen.value.shape[-1]
    channel = right.number_input("Channel to enlarge", 0, channels - 1, 0, key=MAP_CHANNEL)
    st.plotly_chart(
        plots.feature_maps(
            chosen.value, f"{name} ({chosen.info.kind}, {_shape(chosen.info)}): {channels} maps"
        ),
        key=f"maps_{name}", config=STILL,
    )  # fmt: skip
    enlarged, source = st.columns(2)
    enlarged.plotly_chart(
        plots.map_detail(chosen.value[..., channel], f"{name}, channel {channel}"),
        key="maps_detail", config=STILL,
    )  # fmt: skip
    with source:
        _filter_of(model, layers, chosen.info, int(channel))


def _filter_of(
    model: DigitModel, layers: list[explain.LayerInfo], info: explain.LayerInfo, channel: int
) -> None:
    """The filter that made channel `channel` of `info` (a pool's is its convolution's)."""
    if info.kind == "pool":
        before = layers[: layers.index(info)]
        conv = next((layer for layer in reversed(before) if layer.kind == "conv"), None)
        if conv is None:
            return
        st.caption(
            f"Pooling has no filter: each pixel is the largest of a 2×2 window of {conv.name}'s "
            f"channel {channel}, which this filter made:"
        )
        info = conv
    kernels = explain.conv_kernels(model, info)  # (kh, kw, in, out)
    if kernels.shape[2] == 1:
        st.plotly_chart(
            plots.kernel_detail(kernels[:, :, 0, channel], f"its filter ({info.name})"),
            key="maps_filter", config=STILL,
        )  # fmt: skip
        st.caption("The map is this filter slid over the input: red weights add the ink under "
                   "them, blue ones subtract it.")  # fmt: skip
        return
    st.plotly_chart(
        plots.kernel_strengths(
            explain.kernel_norms(model, info)[channel], f"its filter ({info.name})"
        ),
        key="maps_filter", config=STILL,
    )  # fmt: skip
    st.caption(
        f"A filter of {info.name} holds a {kernels.shape[0]}×{kernels.shape[1]} kernel for each "
        f"of the {kernels.shape[2]} maps of the layer before: how strongly it reads each one."
    )


def _dense_section(values: list[explain.LayerActivation]) -> None:
    dense = [a for a in values if a.info.kind == "dense"]
    if not dense:
        return
    st.markdown(
        "**Dense units.** A dense (fully connected) layer's units each weigh *every* value of "
        "the layer before and add them up: a unit is active when the combination of features it "
        "has learned is present. Shown: each hidden dense layer's 20 most active units for "
        "your drawing. The last layer has one unit per answer, a score per digit (and one for "
        '"not a digit" in a model that can say so), which softmax turns into the '
        "probabilities at the bottom."
    )
    for activation in dense:
        info, value = activation.info, activation.value
        if info.name == "logits":
            probabilities = np.exp(value - value.max())
            probabilities /= probabilities.sum()  # (K,): "not a digit" last when K = 11
            st.plotly_chart(
                probability_bars(probabilities[:10], "final probabilities",
                                 not_a_digit=len(probabilities) > 10),
                key="maps_final", config=STILL,
            )  # fmt: skip
        else:
            st.plotly_chart(
                plots.top_units(value, f"{info.name} ({_shape(info)} units): the 20 most active"),
                key=f"units_{info.name}", config=STILL,
            )  # fmt: skip


def saliency_panel(model: DigitModel, image: np.ndarray, label: int) -> None:
    st.markdown(
        f"Which pixels drove the answer **{label}**: the gradient of its score with "
        "respect to each pixel, times the pixel (red raised the score, blue lowered it)."
    )
    attribution = explain.saliency(model, image, label)
    st.plotly_chart(plots.saliency_overlay(image, attribution), key="saliency", config=STILL)


def embedding_panel(active: ModelView, image: np.ndarray) -> None:
    test = mnist_test()
    if test is None:
        st.caption("The embedding map needs MNIST (see the top of the page).")
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
    indices = [int(embedding.indices[position]) for position in neighbours]
    st.caption("Its nearest neighbours (label and test image number):")
    st.image(  # fixed-size tiles in a wrapping row: compact on a phone too
        [to_display(test.images_nhw[i], 72) for i in indices],
        caption=[f"{test.labels_n[i]} (#{i})" for i in indices],
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
        plots.probe_heatmap(shifts, "shifted", "right (px)", "down (px)"), key="probe_shift",
        config=STILL,
    )  # fmt: skip
    right.plotly_chart(
        plots.probe_heatmap(turns, "rotated and re-inked", "rotation", "stroke"),
        key="probe_turn", config=STILL,
    )  # fmt: skip


def source_image(has_mnist: bool) -> np.ndarray | bytes | None:
    """The drawing from the Draw page, an upload, or (once MNIST is here) an MNIST test digit."""
    options = ["My drawing", "Upload an image"] + (["An MNIST test digit"] if has_mnist else [])
    drawn = st.session_state.get(state.CANVAS_IMAGE) is not None
    default = 0 if drawn or not has_mnist else 2
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
        return None
    index = st.number_input("Test image #", 0, len(test) - 1, 0, key="explain_index")
    return test.images_nhw[int(index)]
