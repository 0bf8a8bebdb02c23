"""The data a run trains on, made ready before its first step.

A recipe with generated images (`handwritten.training.negatives`, `handwritten.training.redrawn`)
draws them once per machine, a minute and a half on a busy 2-core CPU: long enough that a
person must see it happen and be able to stop it. So while a bank is drawn (read from the
cache, it says nothing) the run's status and `on_progress` say how far it got, and a stop asked
meanwhile (STOP file, SIGTERM, Ctrl-C) ends the run there, "stopped", with nothing half-drawn
kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handwritten.data.mnist import Split
from handwritten.storage.runs import RunDir
from handwritten.training.config import TrainConfig
from handwritten.training.negatives import training_split
from handwritten.training.stopping import StopSignal

ProgressFn = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class StoppedBeforeTraining:
    """A run stopped while its images were drawn: already recorded in its directory."""

    reason: str
    summary: dict[str, Any]


class _StoppedError(Exception):
    """Raised from inside a bank's drawing when the run is asked to stop; says what was drawn."""


def prepare(
    config: TrainConfig,
    run: RunDir,
    train: Split,
    stop: StopSignal,
    on_progress: ProgressFn | None,
    previous: dict[str, Any] | None = None,
) -> Split | StoppedBeforeTraining:
    """The training split (`training_split`), or how the run stopped while it was drawn. An
    error marks the run failed (`RunDir.record_failure`, `previous`: a resumption's status)
    and propagates."""

    def report(what: str, done: int, total: int) -> None:
        if stop:
            raise _StoppedError(what)
        preparing = {"what": what, "done": done, "total": total}
        run.set_status("running", "preparing", preparing=preparing)
        if on_progress:
            on_progress({"kind": "preparing", **preparing})

    try:
        with stop.handling_signals():
            return training_split(
                train, config.heldout, config.negatives, config.seed, config.redrawn, report
            )
    except _StoppedError as stopped:
        return _record_stop(config, run, f"{stop.reason} while drawing the {stopped}")
    except BaseException as exc:
        run.record_failure(exc, previous)
        raise


def _record_stop(config: TrainConfig, run: RunDir, reason: str) -> StoppedBeforeTraining:
    """No weights to keep and nothing to evaluate; what was drawn so far is dropped (a bank is
    cached whole or not at all)."""
    summary: dict[str, Any] = {
        "arch": config.arch, "state": "stopped", "steps": 0, "epochs_completed": 0,
        "epoch_test_accuracy": [],
    }  # fmt: skip
    run.write_summary(summary)
    run.set_status("stopped", reason)
    return StoppedBeforeTraining(reason, summary)
