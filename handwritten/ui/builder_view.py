"""The Train page's network builder: add, remove, reorder and edit layers (or the spec as text),
and see what the network costs before it trains.

The layers live in session state as a list of tokens (`state.BUILDER_LAYERS`); the spec text
field and each layer's own field are views of it, rewritten by the callbacks that change it, so
whichever the user edits the others follow. Parsing, shapes, parameters, multiply-adds and
activation memory come from `handwritten.models.layer_spec` (instant); the time per epoch is
measured by `handwritten.training.bench.estimate_epoch` (a few real training steps, cached per
network and settings).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from handwritten.data.mnist import TEST_SIZE, TRAIN_SIZE
from handwritten.jobs.lock import current_job
from handwritten.models.layer_spec import KNOWN, LayerSpecError, NetworkPlan, shape_text
from handwritten.training import bench
from handwritten.training.config import TrainConfig, check_layers
from handwritten.ui import state

STARTER = "conv3x3x16,relu,pool2,conv3x3x32,relu,pool2,dense64,relu"
ADDABLE = (
    "conv3x3x16", "conv3x3x32", "conv3x3x64", "conv5x5x16valid", "pool2", "avgpool2", "bn",
    "relu", "tanh", "dropout0.3", "dense64", "dense128", "gap",
)  # fmt: skip


def _row_key(index: int) -> str:
    return f"{state.BUILDER_ROW}{index}"


def _set_layers(tokens: list[str]) -> None:
    """Replace the layers and rewrite every field that shows them (callbacks only: a widget's
    value may be set before it is drawn, never after)."""
    st.session_state[state.BUILDER_LAYERS] = list(tokens)
    st.session_state[state.BUILDER_TEXT] = ",".join(tokens)
    for index, token in enumerate(tokens):
        st.session_state[_row_key(index)] = token


def _layers() -> list[str]:
    """The builder's layers; the starter network in a new session. Fields a page without the
    builder let Streamlit forget are drawn again from the list."""
    tokens = st.session_state.setdefault(state.BUILDER_LAYERS, STARTER.split(","))
    st.session_state.setdefault(state.BUILDER_TEXT, ",".join(tokens))
    for index, token in enumerate(tokens):
        st.session_state.setdefault(_row_key(index), token)
    return list(tokens)


def _from_text() -> None:
    text = st.session_state[state.BUILDER_TEXT]
    _set_layers([token.strip() for token in text.split(",")] if text.strip() else [])


# Several callbacks can fire in one rerun (a field edited, then a button clicked before the edit
# was sent): each checks that its row still exists, since an earlier one may have removed it.


def _edit(index: int) -> None:
    tokens = _layers()
    if index < len(tokens) and _row_key(index) in st.session_state:
        tokens[index] = st.session_state[_row_key(index)].strip()
        _set_layers(tokens)


def _move(index: int, step: int) -> None:
    tokens = _layers()
    other = index + step
    if 0 <= index < len(tokens) and 0 <= other < len(tokens):
        tokens[index], tokens[other] = tokens[other], tokens[index]
        _set_layers(tokens)


def _remove(index: int) -> None:
    tokens = _layers()
    if index < len(tokens):
        del tokens[index]
        _set_layers(tokens)


def _add() -> None:
    _set_layers([*_layers(), st.session_state[state.BUILDER_ADD]])


def _plan(tokens: list[str]) -> tuple[NetworkPlan | None, str]:
    try:
        return check_layers(",".join(tokens)), ""
    except LayerSpecError as error:
        return None, str(error)


def _layer_rows(tokens: list[str], plan: NetworkPlan | None) -> None:
    """One line a layer: its field, its output shape, and move/remove buttons."""
    shapes = [shape_text(row.shape) for row in plan.layers if row.token] if plan else []
    for index, _ in enumerate(tokens):
        number, field, shape, up, down, remove = st.columns(
            [0.4, 3, 1.6, 0.5, 0.5, 0.5], vertical_alignment="center"
        )
        number.caption(f"{index + 1}")
        field.text_input(f"Layer {index + 1}", key=_row_key(index), on_change=_edit,
                         args=(index,), label_visibility="collapsed")  # fmt: skip
        shape.caption(f"→ {shapes[index]}" if shapes else "")
        up.button("↑", key=f"builder_up_{index}", on_click=_move, args=(index, -1),
                  disabled=index == 0, help="Move up")  # fmt: skip
        down.button("↓", key=f"builder_down_{index}", on_click=_move, args=(index, 1),
                    disabled=index == len(tokens) - 1, help="Move down")  # fmt: skip
        remove.button("✕", key=f"builder_remove_{index}", on_click=_remove, args=(index,),
                      help="Remove this layer")  # fmt: skip


def network_builder() -> NetworkPlan | None:
    """The editor and the layer table; the plan when the spec builds, else None (and why)."""
    tokens = _layers()
    st.text_input(
        "Layer spec", key=state.BUILDER_TEXT, on_change=_from_text,
        help=f"Comma-separated: {KNOWN}. Flatten and the final dense10 are implied.",
    )  # fmt: skip
    plan, error = _plan(tokens)
    _layer_rows(tokens, plan)
    pick, add = st.columns([3, 1], vertical_alignment="bottom")
    pick.selectbox("Layer to add", ADDABLE, key=state.BUILDER_ADD)
    add.button("Add layer", key="builder_add_layer", on_click=_add)
    if plan is None:
        st.error(f"This network cannot be built: {error}.")
        return None
    st.dataframe(plan.rows(), hide_index=True, key="builder_table", column_config={
        "multiply_adds": st.column_config.NumberColumn("multiply-adds", format="localized"),
        "parameters": st.column_config.NumberColumn(format="localized"),
    })  # fmt: skip
    return plan


@st.cache_data(show_spinner="Timing a few training steps on this device…", max_entries=64)
def _estimate(config_json: tuple[tuple[str, Any], ...], n_train: int) -> dict[str, Any]:
    """`bench.estimate_epoch` once per network and settings (the same for every session)."""
    config = TrainConfig.from_dict(dict(config_json))
    return bench.estimate_epoch(config, n_train, TEST_SIZE).to_dict()


def cost_panel(plan: NetworkPlan, config: TrainConfig) -> None:
    """Parameters, multiply-adds, activation memory per batch and the measured time per epoch."""
    params, macs, memory, seconds = st.columns(4)
    params.metric("Parameters", f"{plan.parameters:,}")
    macs.metric("Multiply-adds per image", f"{plan.macs / 1e6:,.2f} M")
    memory.metric(f"Activations / batch of {config.batch_size}",
                  f"{plan.activation_bytes(config.batch_size) / 1e6:,.1f} MB")  # fmt: skip
    n_train = min(config.train_subset or TRAIN_SIZE, TRAIN_SIZE)
    timed = dataclasses.replace(config, epochs=1, seed=0, lr=1e-3)  # these cost no time
    try:
        estimate = _estimate(tuple(sorted(timed.to_dict().items())), n_train)
    except ValueError as error:  # settings that cannot train: the Start button says why
        seconds.metric("Time per epoch (measured)", "–")
        st.caption(f"No estimate: {error}.")
        return
    seconds.metric("Time per epoch (measured)", f"{estimate['seconds_per_epoch']:,.1f} s")
    busy = " A job is training now, so this reads slow." if current_job() is not None else ""
    st.caption(
        f"{estimate['steps_per_epoch']:,} steps of {estimate['seconds_per_step'] * 1000:,.1f} ms "
        f"for {n_train:,} images, plus {estimate['evaluation_seconds']:,.1f} s scoring the "
        f"test set; the first epoch adds {estimate['first_step_seconds']:,.1f} s compiling. "
        f"Timed on this device from a few real training steps.{busy}"
    )
