"""The Tour's live chapter: train the demo network as a normal job and watch it learn.

"Train it now" launches `PRESETS[DEMO_PRESET]` through `handwritten.jobs.launcher` (the one
training slot of the machine, a process of its own) and remembers the run. One fragment polls
the run directory every second while a job trains (every few seconds otherwise): the loss from
its metrics, and from each weight snapshot the first-layer filters and the drawing's
probabilities, each snapshot read once per drawing. When
another job holds the machine, the last run that recorded snapshots is shown instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from handwritten.analysis import learning as learned
from handwritten.figures import tour as plots
from handwritten.figures import tour_learning as later
from handwritten.jobs import launcher as jobs
from handwritten.jobs.lock import current_job
from handwritten.jobs.progress import progress
from handwritten.storage.files import FileVersion
from handwritten.storage.runs import RunDir, RunError
from handwritten.training.config import DEMO_PRESET, DEMO_SECONDS, PRESETS
from handwritten.training.snapshots import list_snapshots
from handwritten.ui.tour_view import Chapter, digest

RUN = "tour_run"  # the run this session started from the tour
REFUSED = "tour_run_refused"  # set when Start found the machine busy
POLL_S = 1.0  # while a job trains: a snapshot or a metric line arrives every second or so
IDLE_POLL_S = 5.0  # otherwise only to notice a job started elsewhere (another tab, the CLI)


def _start() -> None:
    try:
        _, run = jobs.launch(PRESETS[DEMO_PRESET])
    except jobs.JobRunningError:
        st.session_state[REFUSED] = True
        return
    st.session_state[RUN] = str(run.path)
    st.session_state[REFUSED] = False


@st.cache_data(show_spinner=False, max_entries=2048)
def _reading(version: FileVersion, step: int, key: str, _image28: np.ndarray):
    """One snapshot read through the drawing (`key` is its digest), once."""
    return learned.read_snapshot(Path(version.path), step, _image28)


def _open(path: str | None) -> RunDir | None:
    if not path or not Path(path).is_dir():
        return None
    try:
        return RunDir.open(Path(path))
    except RunError:
        return None  # the job has not written its settings yet


def _watched() -> tuple[RunDir | None, str]:
    """The run to show and why: "ours" (started here), "live" (a snapshot-taking job started
    elsewhere), "starting", "busy" (another kind of job holds the machine: the last recorded run
    instead), "recorded" (the last run that took snapshots) or "none"."""
    job = current_job()
    ours = st.session_state.get(RUN)
    if job is not None:
        if ours and str(job.get("run_dir")) == ours:
            run = _open(ours)
            return (run, "ours") if run is not None else (None, "starting")
        running = _open(str(job.get("run_dir") or ""))
        if running is not None and running.settings().get("snapshot_every"):
            return running, "live"
        return learned.last_snapshot_run(), "busy"
    run = _open(ours)
    if run is not None and learned.has_snapshots(run):
        return run, "ours"
    recorded = learned.last_snapshot_run()
    return (recorded, "recorded") if recorded is not None else (None, "none")


def live_chapter(chapter: Chapter, image28: np.ndarray, label: int) -> None:
    """The Start button and the run's pictures, in one fragment polling the run directory:
    every second while a job trains, every few seconds otherwise (a poll costs a figure)."""
    training = current_job() is not None
    poll = st.fragment(run_every=POLL_S if training else IDLE_POLL_S)(_panel)
    poll(chapter, image28, label, training)


@st.cache_resource(show_spinner=False, max_entries=64)
def _untrained(key: str, _image28: np.ndarray) -> learned.SnapshotReading:
    """The demo network before any training, reading the drawing (`key`: its digest)."""
    return learned.untrained_reading(_image28)


def _status(
    chapter: Chapter, run: RunDir | None, why: str, story: learned.Learning, label: int
) -> str:
    """The sentence under the button: where the shown run is, in the chapter's own words."""
    t = chapter.templates
    if run is None:
        template = t[{"starting": "starting", "busy": "busy_none"}.get(why, "before")]
        return template.format(digit=label, chance=float(story.probabilities[0, label]))
    info = progress(run, run.read_metrics())
    if info.state == "running":
        sentence = t["running"].format(step=info.step, total=info.total_steps or "?", digit=label)
        return sentence if why in ("ours", "live") else f"{t['busy']} {sentence}"
    probabilities = story.probabilities[:, label] if len(story.snapshot_steps) else [0.0]
    summary = run.summary() or {}
    done = t["done"].format(
        seconds=float(summary.get("duration_seconds") or info.elapsed), steps=info.step,
        accuracy=float(summary.get("test_accuracy") or info.test_accuracy or 0.0), digit=label,
        tested=int(run.facts().get("n_test") or 0),
        first=float(probabilities[0]), last=float(probabilities[-1]),
    )  # fmt: skip
    if why == "busy":
        return f"{t['busy']} {done}"
    return done if why == "ours" else f"{t['recorded'].format(run=run.id)} {done}"


def _panel(chapter: Chapter, image28: np.ndarray, label: int, training: bool) -> None:
    """One poll of the watched run's files; never blocks the script. The button lives here, so
    a press reruns only this fragment."""
    if (current_job() is not None) != training:
        st.rerun()  # a job started or ended: the whole page reruns and picks the other cadence
    st.button(f"Train it now (about {DEMO_SECONDS} s)", icon=":material/play_arrow:",
              type="primary", on_click=_start, disabled=current_job() is not None,
              key="tour_train")  # fmt: skip
    if st.session_state.pop(REFUSED, False):
        st.warning(chapter.templates["busy"])
    run, why = _watched()
    key = digest(image28)
    if run is not None:
        readings = [_reading(s.version, s.step, key, image28) for s in list_snapshots(run)]
        story = learned.learning(run.read_metrics(), readings)
    else:
        story = learned.learning([], [_untrained(key, image28)])
    st.markdown(_status(chapter, run, why, story, label))
    figure = later.learning_figure(story, label)
    st.plotly_chart(figure, key="tour_learning", config=plots.STILL)
