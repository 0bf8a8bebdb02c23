"""Data page panels: the MNIST explorer and the active model's mistakes on the test set.

Everything heavy is cached per process: MNIST and its statistics per data folder, the test-set
scores per checkpoint version (`FileVersion`, the dashboard's one model key), so promoting a model
takes effect on the next rerun. The scores are also cached on disk by `handwritten.analysis`, so
a restart reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from handwritten.analysis import dataset, scores
from handwritten.data.mnist import DataError, Split
from handwritten.figures import calibration as calibration_plots
from handwritten.figures import dataset as plots
from handwritten.models.store import active_version
from handwritten.storage.files import FileVersion
from handwritten.storage.paths import data_dir
from handwritten.ui.cache import mnist_split, predictor
from handwritten.ui.mnist_view import mnist_ready
from handwritten.ui.result import threshold_sentence

# Session-state keys of this page (widget keys, and the browser's page number).
BROWSE_SET = "data_browse_set"
BROWSE_DIGIT = "data_browse_digit"
BROWSE_PAGE = "data_browse_page"  # 0-based; kept by the Previous/Next callbacks
CELL_TRUE = "data_cell_true"
CELL_PREDICTED = "data_cell_predicted"
CONFUSION_CHART = "data_confusion_chart"

DIGITS = list(range(10))
CELL_LIMIT = 40  # images shown for one confusion cell
STILL = {"displayModeBar": False}  # image grids and the matrix: nothing to zoom, no toolbar


@dataclass(frozen=True)
class Mnist:
    """Both splits and what the explorer shows about them (computed once per data folder)."""

    train: Split
    test: Split
    train_counts: np.ndarray
    test_counts: np.ndarray
    means_khw: np.ndarray  # mean training image per digit, float in [0, 1]


@st.cache_resource(show_spinner="Reading MNIST…", max_entries=2)
def _mnist(directory: str) -> Mnist:
    # A DataError propagates and is not cached: after `handwritten data fetch` the page works.
    train, test = mnist_split("train", directory), mnist_split("test", directory)
    return Mnist(
        train,
        test,
        dataset.class_counts(train.labels_n),
        dataset.class_counts(test.labels_n),
        dataset.mean_images(train.images_nhw, train.labels_n),
    )


def mnist() -> Mnist | None:
    """MNIST with its statistics, or None after showing how getting it goes (the MNIST panel)."""
    if not mnist_ready("The Data page"):
        return None
    try:
        return _mnist(str(data_dir()))
    except DataError as error:
        st.error(f"MNIST is here but cannot be read: {error}", icon=":material/error:")
        return None


@st.cache_resource(
    show_spinner="Scoring the MNIST test set with the active model (once per model)…",
    max_entries=4,
)
def _scores(version: FileVersion, directory: str) -> scores.ModelScores:
    """The test-set scores of exactly the checkpoint `version` names."""
    return scores.score(version, _mnist(directory).test)


def active_scores() -> scores.ModelScores:
    """The active model's test-set scores; a new checkpoint version gets a new cache entry."""
    return _scores(active_version(), str(data_dir()))


# ---------------------------------------------------------------------------------------------
# Explorer


def balance_panel(data: Mnist) -> None:
    st.subheader("Class balance")
    common, rare = int(data.train_counts.argmax()), int(data.train_counts.argmin())
    st.caption(
        f"Images per digit: {common}s are the most common in training, {rare}s the rarest "
        f"({data.train_counts.max() / max(data.train_counts.min(), 1):.2f}×). Hover for each "
        "digit's share: with classes this even, plain accuracy is a fair summary."
    )
    st.plotly_chart(
        plots.class_balance_bars(data.train_counts, data.test_counts), key="data_balance",
        config=STILL,
    )  # fmt: skip


def means_panel(data: Mnist) -> None:
    st.subheader("The average digit")
    st.caption(
        "Each tile is the pixel-wise mean of every training image of that digit: bright where "
        "most writers put ink. Blur shows how much handwriting varies."
    )
    st.plotly_chart(
        plots.mean_image_grid(data.means_khw, data.train_counts), key="data_means", config=STILL
    )


def _first_page() -> None:
    st.session_state[BROWSE_PAGE] = 0


def _turn_page(step: int, pages: int) -> None:
    st.session_state[BROWSE_PAGE] = min(max(st.session_state[BROWSE_PAGE] + step, 0), pages - 1)


@st.fragment
def browse_panel(data: Mnist) -> None:
    """Pages of one digit's images (a fragment: turning a page reruns only this panel)."""
    st.subheader("Browse a digit")
    st.session_state.setdefault(BROWSE_PAGE, 0)
    left, right = st.columns([1, 3])
    name = left.segmented_control(
        "Set", ["train", "test"], default="train", required=True, key=BROWSE_SET,
        on_change=_first_page,
    )  # fmt: skip
    digit = right.segmented_control(  # wraps on a phone instead of hiding 8 and 9
        "Digit", DIGITS, default=0, required=True, key=BROWSE_DIGIT, on_change=_first_page,
        wrap=True,
    )  # fmt: skip
    split = data.train if name == "train" else data.test
    pages = dataset.page_count(split.labels_n, digit)
    page = min(st.session_state[BROWSE_PAGE], pages - 1)
    indices = dataset.class_page(split.labels_n, digit, page)
    st.plotly_chart(
        plots.example_grid(split.images_nhw[indices], indices), key="data_examples", config=STILL
    )
    back, where, forward = st.columns([1, 2, 1], vertical_alignment="center")
    back.button(
        "Previous", icon=":material/chevron_left:", disabled=page == 0, on_click=_turn_page,
        args=(-1, pages), width="stretch",
    )  # fmt: skip
    total = int((split.labels_n == digit).sum())
    where.caption(f"Page {page + 1} of {pages}: {total:,} {name} images of {digit}")
    forward.button(
        "Next", icon=":material/chevron_right:", disabled=page >= pages - 1, on_click=_turn_page,
        args=(1, pages), width="stretch",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The active model on the test set


def _cell_clicked() -> None:
    """A click on the confusion matrix chooses that cell in the two selectboxes."""
    for point in st.session_state[CONFUSION_CHART].selection.points:
        cell = plots.cell_from_point(point)
        if cell is not None:
            st.session_state[CELL_TRUE], st.session_state[CELL_PREDICTED] = cell
            return


def calibration_panel() -> None:
    """The reliability diagram of the active model on MNIST test, and what "unsure" means."""
    st.subheader("Is its confidence honest?")
    st.caption(
        "Each point groups test answers by the confidence the model stated and shows how "
        "many of them were right; an honest model follows the diagonal. The temperature that "
        'corrects it, and the margin by which "not a digit" must lead the best digit, were '
        "fitted on held-out training digits, drawings and non-digits, never on this test set."
    )
    calibration = predictor(active_version()).calibration
    view = scores.calibration_view(active_scores(), calibration)
    before, after, temperature, margin = st.columns(4)
    before.metric("Calibration error before", f"{view.ece_before:.2%}")
    after.metric("Calibration error after", f"{view.ece_after:.2%}")
    temperature.metric("Temperature", f"{calibration.temperature:.3f}")
    margin.metric("Reject margin", f"{calibration.reject_offset:.2f}")
    st.plotly_chart(
        calibration_plots.reliability_diagram(view.before, view.after, calibration.unsure_below),
        key="data_reliability",
    )
    st.caption(threshold_sentence(calibration))


def errors_panel(data: Mnist) -> None:
    st.caption(
        f"The active model on the {len(data.test):,} MNIST test images, scored once per model. "
        "A model promoted on the Train page shows here at once."
    )
    model_scores = active_scores()
    evaluation, confusion = model_scores.evaluation, model_scores.confusion
    worst = scores.worst_confusion(confusion)
    accuracy, wrong, common = st.columns(3)
    accuracy.metric("Test accuracy", f"{evaluation.accuracy:.2%}")
    wrong.metric("Misclassified", f"{len(evaluation.misclassified):,} of {evaluation.n:,}")
    common.metric(
        "Most frequent mistake",
        f"{worst[0]} read as {plots.answer_name(worst[1])}" if worst[0] != worst[1] else "none",
        f"{int(confusion[worst]):,} images" if worst[0] != worst[1] else None,
        delta_color="off",
        delta_arrow="off",
    )
    st.session_state.setdefault(CELL_TRUE, worst[0])
    st.session_state.setdefault(CELL_PREDICTED, worst[1])
    cell_panel(data.test, model_scores)


@st.fragment
def cell_panel(test: Split, model_scores: scores.ModelScores) -> None:
    """The confusion matrix, per-class accuracy and the images of the chosen cell."""
    evaluation, confusion = model_scores.evaluation, model_scores.confusion
    answers = list(range(confusion.shape[1]))  # the digits, and "not a digit" if it can say so
    if st.session_state[CELL_PREDICTED] not in answers:  # another model was promoted
        st.session_state[CELL_PREDICTED] = st.session_state[CELL_TRUE]
    true, predicted = st.session_state[CELL_TRUE], st.session_state[CELL_PREDICTED]
    matrix, per_class = st.columns([3, 2], gap="large")
    with matrix:
        st.markdown("**Confusion matrix** (rows: true digit, columns: the model's answer)")
        st.plotly_chart(
            plots.confusion_heatmap(confusion, selected=(true, predicted)),
            key=CONFUSION_CHART, on_select=_cell_clicked, selection_mode="points", config=STILL,
        )  # fmt: skip
    with per_class:
        st.markdown("**Accuracy per digit** (share of each digit read correctly)")
        support = dataset.class_counts(test.labels_n)
        st.plotly_chart(
            plots.per_class_accuracy_bars(evaluation.per_class_accuracy, support),
            key="data_per_class", config=STILL,
        )  # fmt: skip
        st.caption("Click a cell of the matrix, or choose one here:")
        pick_true, pick_predicted = st.columns(2)
        pick_true.selectbox("True digit", DIGITS, key=CELL_TRUE)
        pick_predicted.selectbox(
            "Read as", answers, key=CELL_PREDICTED, format_func=plots.answer_name
        )
    total = int(confusion[true, predicted])
    examples = scores.cell_examples(
        test.labels_n, model_scores.probabilities_nk, true, predicted, limit=CELL_LIMIT
    )
    if not examples:
        st.info(f"No test image of a {true} was read as {plots.answer_name(predicted)}.")
        return
    shown = f" (the first {len(examples)})" if total > len(examples) else ""
    if true == predicted:
        what, order = f"read correctly{shown}", "least sure first"
    else:
        what, order = (
            f"misread as **{plots.answer_name(predicted)}**{shown}",
            "most confident first",
        )
    st.markdown(
        f"**{total:,}** test image{'s' if total != 1 else ''} of **{true}** {what}, {order}. "
        "Under each: its index and the model's top 3 answers."
    )
    images = test.images_nhw[[example.index for example in examples]]
    st.plotly_chart(plots.cell_grid(images, examples), key="data_cell_images", config=STILL)
