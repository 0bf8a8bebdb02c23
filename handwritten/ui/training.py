"""Train page panels: the new-run form, the live run (a polling fragment), the run history.

Training never runs here: the form starts a job process through `handwritten.jobs.launcher`, and the
panels only read run directories, so closing the tab or restarting the server loses nothing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import streamlit as st

from handwritten.data.samples import SampleStore
from handwritten.figures.prediction import training_curves
from handwritten.jobs import launcher as jobs
from handwritten.jobs import monitor
from handwritten.models.architectures import REGISTRY
from handwritten.models.store import ModelNotFoundError, promote
from handwritten.storage.runs import RunDir, RunError
from handwritten.training.config import OPTIMIZERS, PRESETS, TrainConfig
from handwritten.training.finetune import MIN_SAMPLES
from handwritten.ui import state

FULL_TRAIN = 60_000
FINAL = ("finished", "stopped", "diverged", "failed")


def _form_config(arch: str) -> TrainConfig | None:
    """The new-run form; returns a validated config when `Start training` was pressed."""
    preset = PRESETS[arch]
    with st.form(f"new_run_{arch}"):
        left, middle, right = st.columns(3)
        epochs = left.number_input("Epochs", 1, 100, 1)
        batch = left.number_input("Batch size", 1, 4096, preset.batch_size)
        lr = middle.number_input("Learning rate", 0.0, 10.0, preset.lr, format="%.4g")
        optimizer = middle.selectbox("Optimizer", OPTIMIZERS, OPTIMIZERS.index(preset.optimizer))
        subset = right.number_input(
            "Training images (0 = all 60,000)", 0, FULL_TRAIN, 10_000, step=1_000,
            help="A subset makes a demo run finish in seconds.",
        )  # fmt: skip
        seed = right.number_input("Seed", 0, 2**31 - 1, 0)
        augment = st.checkbox("Data augmentation (rotate, shear, scale, stroke width)",
                              preset.augment)  # fmt: skip
        if not st.form_submit_button("Start training", type="primary"):
            return None
    try:
        return dataclasses.replace(
            preset, epochs=int(epochs), batch_size=int(batch), lr=float(lr),
            optimizer=str(optimizer), seed=int(seed), augment=bool(augment),
            train_subset=int(subset) or None,
        ).validate()  # fmt: skip
    except ValueError as error:
        st.error(f"These settings cannot train: {error}.")
        return None


def new_run_form() -> None:
    arch = st.selectbox(
        "Architecture", list(REGISTRY), index=list(REGISTRY).index("cnn"),
        format_func=lambda name: f"{name}: {REGISTRY[name].description}",
    )  # fmt: skip
    config = _form_config(arch)
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
    epochs = left.number_input("Fine-tune epochs", 1, 20, 3, key="finetune_epochs")
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
    run = monitor.live_run()
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


@st.fragment(run_every=1.0)
def live_panel() -> None:
    """Polls the live run's files once a second; never blocks the script."""
    run = _watched_run()
    if run is None:
        st.caption("No training is running. Start one above, or from the CLI.")
        return
    info = monitor.progress(run)
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
    records = run.read_metrics()
    if records:
        st.plotly_chart(training_curves({run.id: records}), key="live_curves")
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
            monitor.delete_run(RunDir(Path(path)))
        except RunError as error:
            st.session_state[state.HISTORY_ERROR] = str(error)


@st.fragment(run_every=3.0)
def history_panel() -> None:
    rows = monitor.history()
    if not rows:
        st.caption("No runs yet.")
        return
    table = pd.DataFrame(rows).drop(columns=["path"])
    event = st.dataframe(
        table, hide_index=True, on_select="rerun", selection_mode="multi-row", key=state.HISTORY,
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
        training_curves({r["run"]: RunDir(Path(r["path"])).read_metrics() for r in chosen}),
        key="history_curves",
    )
    one = chosen[0] if len(chosen) == 1 else None
    use, again, delete = st.columns(3)
    use.button("Use this model", disabled=one is None or one["status"] not in FINAL[:2],
               on_click=_promote, args=(one["path"] if one else "",))  # fmt: skip
    again.button("Resume", disabled=one is None or one["status"] not in jobs.RESUMABLE_STATES,
                 on_click=_resume, args=(one["path"] if one else "",))  # fmt: skip
    with delete.popover(f"Delete {len(chosen)} run(s)…"):
        st.write("This deletes the run folders and their checkpoints. It cannot be undone.")
        st.button("Yes, delete", type="primary", on_click=_delete,
                  args=([r["path"] for r in chosen],))  # fmt: skip
