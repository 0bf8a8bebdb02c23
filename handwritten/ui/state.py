"""Session-state keys in one place, and their initial values."""

from __future__ import annotations

from typing import Any

import streamlit as st

CANVAS = "draw_canvas"  # the canvas widget's own key
CANVAS_INITIAL = "draw_canvas_initial"  # drawing restored when the canvas is mounted again
CANVAS_JSON = "draw_canvas_json"  # the latest drawing (Fabric.js JSON)
CANVAS_IMAGE = "draw_canvas_image"  # the latest canvas RGBA, shared with the Explain page
CANVAS_STALE = "draw_canvas_stale"  # the drawing an Undo/Clear replaced, until the canvas sends
CANVAS_REDRAWS = "draw_canvas_redraws"  # Undo/Clear count: makes each redraw a new drawing
BRUSH = "draw_brush"
SCHEME = "draw_scheme"
SHOW_PIPELINE = "draw_show_pipeline"
PREDICTIONS = "predictions"  # this session's latest predictions, by input (ui.result)
LAST_RUN = "train_last_run"  # the run this session started last (shown after it ends)
HISTORY = "train_history"  # the history table's selection
HISTORY_ERROR = "train_history_error"  # a message from a history action, shown once
REFUSED = "train_refused"  # why the last start was refused, shown once in the live panel
METRIC_TAILS = "train_metric_tails"  # {run path: MetricsTail} of the run the live panel watches
BUILDER_LAYERS = "builder_layers"  # the builder's layers, one token each (the source of truth)
BUILDER_TEXT = "builder_text"  # the spec text field (kept equal to the layers joined by commas)
BUILDER_ROW = "builder_row_"  # + index: each layer's own text field
BUILDER_ADD = "builder_add"  # the layer the "Add layer" button appends
COMPARE = "draw_compare"  # the Draw page's "Compare models" toggle

DEFAULTS: dict[str, Any] = {
    CANVAS_INITIAL: None,
    CANVAS_JSON: None,
    CANVAS_IMAGE: None,
    CANVAS_STALE: None,
    CANVAS_REDRAWS: 0,
    BRUSH: 20,
    SCHEME: "White on black",
    SHOW_PIPELINE: False,
    LAST_RUN: None,
    COMPARE: False,
}


def init_state() -> None:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
