"""Train page panels: the new-run form, the live run (a polling fragment), the run history.

Training never runs here: the form starts a job process through `handwritten.jobs.launcher`, and the
panels only read run directories, so closing the tab or restarting the server loses nothing.
Limits and defaults come from the training configuration (`LIMITS`, `PRESETS`, `FinetuneConfig`),
so the form offers exactly what validation and the CLI accept.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from handwritten.data.mnist import TRAIN_SIZE
from handwritten.data.samples import SampleStore
from handwritten.figures.prediction import training_curves
from handwritten.jobs import launcher as jobs
from handwritten.jobs.history import RunRow, delete_run, history
from handwritten.jobs.lock import current_job
from handwritten.jobs.progress import Progress, live_run, progress
from handwritten.models.architectures import CUSTOM, REGISTRY
from handwritten.models.onnx_export import onnx_bytes
from handwritten.models.store import ModelNotFoundError, load_model, promote
from handwritten.storage.runs import PROMOTABLE_STATES, MetricsTail, RunDir, RunError
from handwritten.training.config import LIMITS, OPTIMIZERS, PRESETS, TrainConfig, preset_for
from handwritten.training.finetune import MIN_SAMPLES, FinetuneConfig
from handwritten.ui import builder_view, state

POLL_TRAINING_S = 1.0  # the live panel while a job trains: the curve grows every second
POLL_IDLE_S = 5.0  # otherwise: only to notice a job started elsewhere (another tab, the CLI)
# RunRow field -> the history table's column label, in display order.
COLUMNS = {
    "run_id": "run", "arch": "arch", "layers": "layers", "epochs": "epochs",
    "batch_size": "batch", "lr": "lr", "optimizer": "optimizer", "augment": "augment",
    "n_train": "train images",
    "state": "status", "test_accuracy": "test accuracy", "duration_seconds": "duration (s)",
    "images_per_second": "images/s", "active": "active",
}  # fmt: skip


def _bounds(setting: str) -> tuple[int, int]:
    """An integer setting's allowed range, from the one source of limits."""
    bounds = LIMITS[setting]
    return int(bounds.low), int(bounds.high)


def _settings(preset: TrainConfig) -> dict[str, Any]:
    """The run settings' widgets, starting from `preset`; their values by setting name."""
    left, middle, right = st.columns(3)
    epochs = left.number_input("Epochs", *_bounds("epochs"), 1)
    batch = left.number_input("Batch size", *_bounds("batch_size"), preset.batch_size)
    lr = middle.number_input("Learning rate", 0.0, 10.0, preset.lr, format="%.4g")
    optimizer = middle.selectbox("Optimizer", OPTIMIZERS, OPTIMIZERS.index(preset.optimizer))
    subset = right.number_input(
        f"Training images (0 = all {TRAIN_SIZE:,})", 0, _bounds("train_subset")[1], 10_000,
        step=1_000, help="A subset makes a demo run finish in seconds.",
    )  # fmt: skip
    seed = right.number_input("Seed", *_bounds("seed"), preset.seed)
    augment = st.checkbox("Data augmentation (rotate, shear, scale, stroke width)",
                          preset.augment)  # fmt: skip
    return {
        "epochs": int(epochs), "batch_size": int(batch), "lr": float(lr),
        "optimizer": str(optimizer), "seed": int(seed), "augment": bool(augment),
        "train_subset": int(subset) or None,
    }  # fmt: skip


def _validated(preset: TrainConfig, values: dict[str, Any]) -> TrainConfig | None:
    try:
        return dataclasses.replace(preset, **values).validate()
    except ValueError as error:
        st.error(f"These settings cannot train: {error}.")
        return None


def _form_config(arch: str) -> TrainConfig | None:
    """The new-run form; returns a validated config when `Start training` was pressed."""
    preset = PRESETS[arch]
    with st.form(f"new_run_{arch}"):
        values = _settings(preset)
        if not st.form_submit_button("Start training", type="primary"):
            return None
    return _validated(preset, values)


def _builder_config() -> TrainConfig | None:
    """Your own network: the builder, then the settings as plain widgets (not a form), so the
    memory and time figures follow the batch size and subset as they change."""
    plan = builder_view.network_builder()
    preset = dataclasses.replace(preset_for(CUSTOM), arch=CUSTOM,
                                 layers=plan.spec if plan else None)  # fmt: skip
    values = _settings(preset)
    if plan is not None:
        builder_view.cost_panel(plan, dataclasses.replace(preset, **values))
    pressed = st.button("Start training", type="primary", key="start_custom",
                        disabled=plan is None)  # fmt: skip
    return _validated(preset, values) if pressed else None


def _describe_arch(name: str) -> str:
    if name == CUSTOM:
        return f"{CUSTOM}: build your own network, layer by layer"
    return f"{name}: {REGISTRY[name].description}"


def new_run_form() -> None:
    choices = [*REGISTRY, CUSTOM]
    arch = st.selectbox("Architecture", choices, index=choices.index("cnn"),
                        format_func=_describe_arch)  # fmt: skip
    config = _builder_config() if arch == CUSTOM else _form_config(arch)
    if config is None:
        return
    try:
        _, run = jobs.launch(config)
    except jobs.JobRunningError as error:
        st.error(f"Not started: {error}.")
        return
    st.session_state[state.LAST_RUN] = str(run.path)
    st.toast(f"Started {run.id}")


def finetune_form() -> None:
    """Start fine-tuning the active model on the personal samples (a normal run)."""
    counts = SampleStore().counts()
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    epochs = left.number_input(
        "Fine-tune epochs", *_bounds("finetune_epochs"), FinetuneConfig().epochs,
        key="finetune_epochs",
    )  # fmt: skip
    right.caption(
        f"{sum(counts)} personal samples ({', '.join(f'{d}: {c}' for d, c in enumerate(counts))}"
        "). A quarter is held out to measure the gain; MNIST replay keeps what the model knows."
    )
    if not st.button("Fine-tune on my samples", disabled=sum(counts) < MIN_SAMPLES):
        if sum(counts) < MIN_SAMPLES:
            st.caption(f"Save at least {MIN_SAMPLES} samples on the Draw page first.")
        return
    try:
        _, run = jobs.launch_finetune("default", int(epochs))
    except jobs.JobRunningError as error:
        st.error(f"Not started: {error}.")
        return
    st.session_state[state.LAST_RUN] = str(run.path)
    st.toast(f"Started {run.id}")


def _finetune_figures(run: RunDir) -> None:
    figures = (run.summary() or {}).get("finetune")
    if not figures or figures.get("personal_accuracy_after") is None:
        return
    personal, mnist = st.columns(2)
    personal.metric(
        f"Your held-out samples ({figures['n_personal_heldout']})",
        f"{figures['personal_accuracy_after']:.1%}",
        f"{figures['personal_accuracy_after'] - figures['personal_accuracy_before']:+.1%}",
    )
    mnist.metric(
        "MNIST test",
        f"{figures['mnist_accuracy_after']:.2%}",
        f"{figures['mnist_accuracy_after'] - figures['mnist_accuracy_before']:+.2%}",
    )


def _watched_run() -> RunDir | None:
    run = live_run()
    if run is not None:
        return run
    last = st.session_state.get(state.LAST_RUN)
    if last and Path(last).is_dir():
        try:
            return RunDir.open(Path(last))
        except RunError:
            return None
    return None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _job_running() -> bool:
    """Whether a job holds this machine's training slot (the live panel's cadence)."""
    return current_job() is not None


def _metrics_tail(run: RunDir) -> MetricsTail:
    """This session's tail of `run`'s metrics log, kept across reruns so a poll parses only the
    lines added since the last one. One run is watched at a time; earlier tails are dropped."""
    tails: dict[str, MetricsTail] = st.session_state.setdefault(state.METRIC_TAILS, {})
    key = str(run.path)
    if key not in tails:
        tails.clear()
        tails[key] = MetricsTail(run)
    return tails[key]


def live_panel() -> None:
    """The watched run: polled every second while a job trains, every few seconds otherwise."""
    if _job_running():
        _live_while_training()
    else:
        _live_while_idle()


@st.fragment(run_every=POLL_TRAINING_S)
def _live_while_training() -> None:
    _live_run_panel(training=True)


@st.fragment(run_every=POLL_IDLE_S)
def _live_while_idle() -> None:
    _live_run_panel(training=False)


def _live_run_panel(training: bool) -> None:
    """One poll of the watched run's files; never blocks the script."""
    if _job_running() != training:
        st.rerun()  # a job started or ended: the whole page reruns and picks the other cadence
    run = _watched_run()
    if run is None:
        st.caption("No training is running. Start one above, or from the CLI.")
        return
    records = _metrics_tail(run).read()
    info = progress(run, records)
    st.markdown(f"**{run.id}** — status: {info.state}")
    if info.compiling:
        st.info("Starting: loading data and compiling the training step…")
    st.progress(
        info.fraction,
        text=(
            f"epoch {info.epoch:.2f} / {info.epochs} · step {info.step} / {info.total_steps} · "
            f"elapsed {_duration(info.elapsed)} · ETA {_duration(info.eta_seconds)} · "
            f"{info.images_per_second:,.0f} images/s · {info.device or 'device: starting'}"
        ),
    )
    if records:
        st.plotly_chart(training_curves({run.id: records}), key="live_curves")
    _run_outcome(run, info)


def _run_outcome(run: RunDir, info: Progress) -> None:
    """Stop button while it trains; how it ended once it has."""
    if info.state == "running":
        st.button("Stop training", on_click=jobs.stop, args=(run,), type="secondary")
    elif info.state == "diverged":
        st.error(f"The run diverged: {info.reason}. Try a smaller learning rate.")
    elif info.state == "failed":
        st.error(f"The run failed: {info.reason}")
    elif info.state in ("stopped", "finished", "interrupted"):
        accuracy = f" — test accuracy {info.test_accuracy:.2%}" if info.test_accuracy else ""
        st.success(f"The run {info.state}{accuracy}.")
        _finetune_figures(run)


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


def history_table(rows: list[RunRow]) -> pd.DataFrame:
    """The history rows as the table shows them: labelled columns, without the paths."""
    return pd.DataFrame(
        [{label: getattr(row, field) for field, label in COLUMNS.items()} for row in rows],
        columns=list(COLUMNS.values()),
    )


@st.fragment(run_every=3.0)
def history_panel() -> None:
    rows = history()
    if not rows:
        st.caption("No runs yet.")
        return
    event = st.dataframe(
        history_table(rows), hide_index=True, on_select="rerun", selection_mode="multi-row",
        key=state.HISTORY,
        column_config={
            "test accuracy": st.column_config.NumberColumn(format="percent"),
            "duration (s)": st.column_config.NumberColumn(format="%.0f"),
            "images/s": st.column_config.NumberColumn(format="%.0f"),
        },
    )  # fmt: skip
    if error := st.session_state.pop(state.HISTORY_ERROR, None):
        st.error(error)
    chosen = [rows[i] for i in event.selection.rows if i < len(rows)]
    if not chosen:
        st.caption("Select runs to compare their curves, use one as the model, or delete them.")
        return
    st.plotly_chart(
        training_curves({r.run_id: RunDir(r.path).read_metrics() for r in chosen}),
        key="history_curves",
    )
    _history_actions(chosen)


def _onnx_of(run_path: str) -> bytes:
    """The run's model as ONNX, made when the download is clicked (not on every rerun)."""
    restored, _ = load_model(Path(run_path))
    return onnx_bytes(restored.model)


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
    again.button("Resume", disabled=one is None or one.state not in jobs.RESUMABLE_STATES,
                 on_click=_resume, args=(path,))  # fmt: skip
    with delete.popover(f"Delete {len(chosen)} run(s)…"):
        st.write("This deletes the run folders and their checkpoints. It cannot be undone.")
        st.button("Yes, delete", type="primary", on_click=_delete,
                  args=([str(r.path) for r in chosen],))  # fmt: skip
