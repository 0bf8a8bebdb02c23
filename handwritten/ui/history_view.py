"""The Train page's run history: a table narrow enough for a phone, one run's details, and
what can be done with the chosen runs (compare curves, use a model, resume, download it as
ONNX, delete).

The table keeps the columns people scan (run, status, test accuracy, duration, active); the
settings, data size, speed and the reason a run ended are in the detail view of a chosen run.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from handwritten.figures.prediction import training_curves
from handwritten.jobs import launcher as jobs
from handwritten.jobs.history import RunRow, delete_run, history
from handwritten.models.onnx_export import onnx_bytes
from handwritten.models.store import ModelNotFoundError, load_model, promote
from handwritten.recognition.predictor import Calibration
from handwritten.storage.runs import PROMOTABLE_STATES, RunDir, RunError
from handwritten.ui import state

# RunRow field -> the history table's column label, in display order.
COLUMNS = {
    "run_id": "run", "state": "status", "test_accuracy": "test accuracy",
    "duration_seconds": "duration (s)", "active": "active",
}  # fmt: skip
# RunRow field -> its label in the detail view of one run.
DETAILS = {
    "reason": "how it ended", "arch": "architecture", "layers": "layers", "epochs": "epochs",
    "batch_size": "batch size", "lr": "learning rate", "optimizer": "optimizer",
    "augment": "augmentation", "n_train": "training images",
    "images_per_second": "images/s", "path": "folder",
}  # fmt: skip


def history_table(rows: list[RunRow]) -> pd.DataFrame:
    """The history rows as the table shows them: the columns that matter, labelled."""
    return pd.DataFrame(
        [{label: getattr(row, field) for field, label in COLUMNS.items()} for row in rows],
        columns=list(COLUMNS.values()),
    )


def run_details(row: RunRow) -> pd.DataFrame:
    """One run's other fields as (label, value) rows, the empty ones left out."""
    values = [(label, _shown(getattr(row, field))) for field, label in DETAILS.items()]
    return pd.DataFrame([(label, value) for label, value in values if value], columns=["", "value"])


def _shown(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


@st.fragment(run_every=3.0)
def history_panel() -> None:
    rows = history()
    if not rows:
        st.caption("No runs yet.")
        return
    event = st.dataframe(
        history_table(rows), hide_index=True, on_select="rerun", selection_mode="multi-row",
        key=state.HISTORY, width="stretch",
        column_config={  # the run's name gets the room; on a phone the rest scrolls into view
            "run": st.column_config.TextColumn(width="medium"),
            "status": st.column_config.TextColumn(width="small"),
            "test accuracy": st.column_config.NumberColumn(format="percent", width="small"),
            "duration (s)": st.column_config.NumberColumn(format="%.0f", width="small"),
            "active": st.column_config.CheckboxColumn(width="small"),
        },
    )  # fmt: skip
    if error := st.session_state.pop(state.HISTORY_ERROR, None):
        st.error(error)
    chosen = [rows[i] for i in event.selection.rows if i < len(rows)]
    if not chosen:
        st.caption("Select runs to see their details, compare their curves, use one as the "
                   "model, download it as ONNX, or delete them.")  # fmt: skip
        return
    if len(chosen) == 1:
        st.dataframe(run_details(chosen[0]), hide_index=True, width="stretch", key="run_details")
    st.plotly_chart(
        training_curves({r.run_id: RunDir(r.path).read_metrics() for r in chosen}),
        key="history_curves",
    )
    _history_actions(chosen)


def _onnx_of(run_path: str) -> bytes:
    """The run's model as ONNX, made when the download is clicked (not on every rerun)."""
    restored, info = load_model(Path(run_path))
    calibration = Calibration.of(info.meta)
    return onnx_bytes(
        restored.model, temperature=calibration.temperature,
        reject_offset=calibration.reject_offset,
    )  # fmt: skip


def _history_actions(chosen: list[RunRow]) -> None:
    """Use one run's model, resume it, download it as ONNX, or delete the chosen runs."""
    one = chosen[0] if len(chosen) == 1 else None
    path = str(one.path) if one else ""
    use, again, download, delete = st.columns(4)
    download.download_button(
        "Download ONNX", partial(_onnx_of, path), mime="application/octet-stream",
        file_name=f"{one.run_id if one else 'model'}.onnx", on_click="ignore",
        disabled=one is None or not (one.path / RunDir.CHECKPOINT).is_file(),
        help="Takes (N, 28, 28, 1) float32 in [0, 1], white ink on black, after this project's "
        "preprocessing; returns (N, 10) probabilities.",
    )  # fmt: skip
    use.button("Use this model", disabled=one is None or one.state not in PROMOTABLE_STATES,
               on_click=_promote, args=(path,))  # fmt: skip
    again.button("Resume", disabled=one is None or not one.resumable, on_click=_resume,
                 args=(path,))  # fmt: skip
    with delete.popover(f"Delete {len(chosen)} run(s)…"):
        st.write("This deletes the run folders and their checkpoints. It cannot be undone.")
        st.button("Yes, delete", type="primary", on_click=_delete,
                  args=([str(r.path) for r in chosen],))  # fmt: skip


def _promote(path: str) -> None:
    try:
        promote(Path(path))
        st.toast("The Draw page now uses this model.")
    except ModelNotFoundError as error:
        st.session_state[state.HISTORY_ERROR] = str(error)


def _resume(path: str) -> None:
    try:
        jobs.resume(Path(path))
        st.session_state[state.LAST_RUN] = path
    except (jobs.JobRunningError, RunError) as error:
        st.session_state[state.HISTORY_ERROR] = str(error)


def _delete(paths: list[str]) -> None:
    for path in paths:
        try:
            delete_run(RunDir(Path(path)))
        except RunError as error:
            st.session_state[state.HISTORY_ERROR] = str(error)
