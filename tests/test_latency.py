"""The latency probe: one digit and whole Draw-page predictions, reported (never asserted)."""

from __future__ import annotations

from handwritten.evaluation.latency import DRAWINGS, measure
from handwritten.recognition.predictor import Predictor


def test_measure_reports_every_drawing() -> None:
    figures = measure(Predictor.load("default"), repeats=2)
    assert figures["per_digit_ms"] > 0
    assert {f"predict_ms[{name}]" for name in DRAWINGS} <= set(figures)
    assert figures["draw_predict_ms"] == max(figures[f"predict_ms[{n}]"] for n in DRAWINGS)
    assert figures["draw_predict_cpu_ms"] == max(figures[f"predict_cpu_ms[{n}]"] for n in DRAWINGS)
