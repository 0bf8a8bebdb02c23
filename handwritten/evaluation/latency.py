"""How long an answer takes: one digit through the model, and a whole Draw-page prediction.

The Draw page predicts on every stroke, so a whole prediction of a 320x320 canvas (decode,
ink, pieces, every candidate grouping read in one batch, the answer) must stay well under the
time a person notices. Times are medians of warm runs: wall-clock, and the process's CPU time
(all its threads), which on a CPU shared with other work stays close to what the work costs
while the wall-clock time grows with the load.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from PIL import Image, ImageDraw

from handwritten.recognition.predictor import Predictor

CANVAS = 320
# Drawings of the kinds the Draw page sees: one digit, a 5 with a detached hat, "47", "2026".
# fmt: off
DRAWINGS: dict[str, list[list[tuple[int, int]]]] = {
    "7": [[(90, 70), (230, 70), (140, 270)]],
    "5 with a detached hat": [[(165, 55), (240, 55)],
                              [(140, 88), (130, 150), (195, 150), (215, 205), (180, 255),
                               (115, 245)]],
    "47": [[(70, 60), (45, 185), (140, 185)], [(115, 110), (115, 275)],
           [(175, 70), (275, 70), (210, 275)]],
    "2026": [[(20, 130), (50, 110), (70, 135), (25, 200), (75, 200)],
             [(115, 110), (140, 120), (145, 165), (130, 200), (100, 190), (95, 140), (115, 110)],
             [(170, 130), (200, 110), (220, 135), (175, 200), (225, 200)],
             [(290, 110), (255, 160), (265, 200), (295, 195), (300, 165), (262, 165)]],
}
# fmt: on


def drawing(strokes: list[list[tuple[int, int]]], brush: int = 18) -> np.ndarray:
    """A canvas payload: white strokes on a transparent background, like the Draw page's."""
    image = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    for points in strokes:
        pen.line(points, fill=(255, 255, 255, 255), width=brush, joint="curve")
    return np.asarray(image)


def _median_ms(run, repeats: int) -> tuple[float, float]:
    """(wall, CPU) median milliseconds of `repeats` warm calls."""
    run()  # warm
    wall, cpu = [], []
    for _ in range(repeats):
        begin, begin_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append((time.perf_counter() - begin) * 1000)
        cpu.append((time.process_time() - begin_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def measure(predictor: Predictor, repeats: int = 50) -> dict[str, float]:
    """Median warm milliseconds: one 28x28 digit through the model, and `predict` on each of
    the `DRAWINGS` (their slowest median is ``draw_predict_ms``); ``*_cpu_ms`` the same in CPU
    time."""
    predictor.warm_up()
    one = np.zeros((1, 28, 28), np.float32)
    one[0, 6:22, 12:16] = 1.0
    figures: dict[str, float] = {}
    figures["per_digit_ms"], figures["per_digit_cpu_ms"] = _median_ms(
        lambda: predictor.logits(one), repeats * 4
    )
    for name, strokes in DRAWINGS.items():
        image = drawing(strokes)
        wall, cpu = _median_ms(lambda im=image: predictor.predict(im), repeats)
        figures[f"predict_ms[{name}]"], figures[f"predict_cpu_ms[{name}]"] = wall, cpu
    for key in ("predict_ms", "predict_cpu_ms"):
        slowest = max(v for k, v in figures.items() if k.startswith(key + "["))
        figures[key.replace("predict", "draw_predict")] = slowest
    return figures
