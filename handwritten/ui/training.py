"""Train page panels: the quick demo run, the new-run form, the live run (a polling fragment).

Training never runs here: the form starts a job process through `handwritten.jobs.launcher`, and the
panels only read run directories, so closing the tab or restarting the server loses nothing.
Limits and defaults come from the training configuration (`LIMITS`, `PRESETS`, `FinetuneConfig`),
so the form offers exactly what validation and the CLI accept.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from handwritten.data.mnist import TRAIN_SIZE
from handwritten.data.samples import SampleStore
from handwritten.figures.prediction import training_curves
from handwritten.jobs import launcher as jobs
from handwritten.jobs.lock import current_job
from handwritten.jobs.progress import Progress, live_run, progress
from handwritten.models.architectures import CUSTOM, REGISTRY
from handwritten.storage.runs import MetricsTail, RunDir, RunError
from handwritten.training.config import (
    DEMO_PRESET,
    DEMO_SECONDS,
    LIMITS,
    OPTIMIZERS,
    PRESETS,
    TrainConfig,
    preset_for,
)
from handwritten.training.finetune import MIN_SAMPLES, FinetuneConfig
from handwritten.ui import builder_view, state

POLL_TRAINING_S = 1.0  # the live panel while a job trains: the curve grows every second
POLL_IDLE_S = 5.0  # otherwise: only to notice a job started elsewhere (another tab, the CLI)
Start = Callable[[], tuple[subprocess.Popen[bytes], RunDir]]


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


def _form_config(arch: str, data_ready: bool) -> TrainConfig | None:
    """The new-run form; returns a validated config when `Start training` was pressed."""
    preset = PRESETS[arch]
    with st.form(f"new_run_{arch}"):
        values = _settings(preset)
        if not st.form_submit_button("Start training", type="primary", disabled=not data_ready):
            return None
    return _validated(preset, values)


def _builder_config(data_ready: bool) -> TrainConfig | None:
    """Your own network: the builder, then the settings as plain widgets (not a form), so the
    memory and time figures follow the batch size and subset as they change."""
    plan = builder_view.network_builder()
    preset = dataclasses.replace(preset_for(CUSTOM), arch=CUSTOM,
                                 layers=plan.spec if plan else None)  # fmt: skip
    values = _settings(preset)
    if plan is not None:
        builder_view.cost_panel(plan, dataclasses.replace(preset, **values))
    pressed = st.button("Start training", type="primary", key="start_custom",
                        disabled=plan is None or not data_ready)  # fmt: skip
    return _validated(preset, values) if pressed else None


def _describe_arch(name: str) -> str:
    if name == CUSTOM:
        return f"{CUSTOM}: build your own network, layer by layer"
    return f"{name}: {REGISTRY[name].description}"


def new_run_form(data_ready: bool) -> None:
    """Architecture and settings of a new run (a preset's form, or the builder for `custom`);
    starting waits until MNIST is here."""
    choices = [*REGISTRY, CUSTOM]
    arch = st.selectbox("Architecture", choices, index=choices.index("cnn"),
                        format_func=_describe_arch)  # fmt: skip
    config = _builder_config(data_ready) if arch == CUSTOM else _form_config(arch, data_ready)
    if config is not None:
        _launch(lambda: jobs.launch(config))


def demo_button(data_ready: bool) -> None:
    """One click to see training happen: the demo preset, which finishes in seconds."""
    demo = PRESETS[DEMO_PRESET]
    left, right = st.columns([1, 2], vertical_alignment="center")
    if left.button("Quick demo run", icon=":material/play_arrow:", type="primary",
                   disabled=not data_ready, width="stretch"):  # fmt: skip
        _launch(lambda: jobs.launch(demo))
    images = min(demo.train_subset or TRAIN_SIZE, TRAIN_SIZE)
    epochs = f"{demo.epochs} epoch{'s' if demo.epochs != 1 else ''}"
    right.caption(
        f"The small {demo.arch} CNN on {images:,} images for {epochs}, to 99% on MNIST test: "
        f"about {DEMO_SECONDS} s on a 2-core CPU, enough to watch the curves move."
    )


def _launch(start: Start) -> None:
    """Start a job and watch it; a refusal (another job holds the machine) is shown in the live
    panel, where people look for the run."""
    try:
        _, run = start()
    except jobs.JobRunningError as error:
        st.session_state[state.REFUSED] = f"Not started: {error}."
        return
    st.session_state.pop(state.REFUSED, None)
    st.session_state[state.LAST_RUN] = str(run.path)
    st.toast(f"Started {run.id}")


def finetune_form(data_ready: bool) -> None:
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
    too_few = sum(counts) < MIN_SAMPLES
    if not st.button("Fine-tune on my samples", disabled=too_few or not data_ready):
        if too_few:
            st.caption(f"Save at least {MIN_SAMPLES} samples on the Draw page first.")
        return
    _launch(lambda: jobs.launch_finetune("default", int(epochs)))


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
    """The watched run: polled every second while a job trains, every few seconds otherwise.
    A start refused in this rerun is shown on top until the next one."""
    refused = st.session_state.pop(state.REFUSED, None)
    if _job_running():
        _live_while_training(refused)
    else:
        _live_while_idle(refused)


@st.fragment(run_every=POLL_TRAINING_S)
def _live_while_training(refused: str | None) -> None:
    _live_run_panel(True, refused)


@st.fragment(run_every=POLL_IDLE_S)
def _live_while_idle(refused: str | None) -> None:
    _live_run_panel(False, refused)


def _live_run_panel(training: bool, refused: str | None = None) -> None:
    """One poll of the watched run's files; never blocks the script."""
    if _job_running() != training:
        st.rerun()  # a job started or ended: the whole page reruns and picks the other cadence
    if refused:
        st.error(refused, icon=":material/block:")
    run = _watched_run()
    if run is None:
        st.caption("No training is running. Start one above, or from the CLI.")
        return
    records = _metrics_tail(run).read()
    info = progress(run, records)
    st.markdown(f"**{run.id}** — status: {info.state}")
    if info.preparing is not None:  # the steps have not begun: their bar would say nothing
        st.progress(info.preparing.fraction, text=info.preparing.describe())
    else:
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
    if info.stopping:
        st.info("Stopping… the run ends after its current step and keeps its checkpoint.",
                icon=":material/hourglass_top:")  # fmt: skip
    elif info.state == "running":
        st.button("Stop training", on_click=jobs.stop, args=(run,), type="secondary")
    elif info.state == "diverged":
        st.error(f"The run diverged: {info.reason}. Try a smaller learning rate.")
    elif info.state == "failed":
        st.error(f"The run failed: {info.reason}")
    elif info.state in ("stopped", "finished", "interrupted"):
        if info.test_accuracy is not None:
            st.success(f"The run {info.state} — test accuracy {info.test_accuracy:.2%}.")
        else:  # it ended before any evaluation: say where (a stop while drawing, say)
            st.success(f"The run {info.state}{': ' + info.reason if info.reason else ''}.")
        _finetune_figures(run)
