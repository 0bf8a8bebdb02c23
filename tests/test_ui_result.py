"""A session's predictions are computed once per input and model, and stay bounded."""

from __future__ import annotations

import numpy as np

from handwritten.models.architectures import create_model
from handwritten.recognition.predictor import Predictor
from handwritten.ui.result import REMEMBERED, remembered_predict


class CountingPredictor(Predictor):
    def __init__(self) -> None:
        super().__init__(create_model("mlp", 0))
        self.calls = 0

    def predict(self, image, *, multi=True):
        self.calls += 1
        return super().predict(image, multi=multi)


def drawing(seed: int) -> np.ndarray:
    image = np.zeros((64, 64, 4), np.uint8)
    image[..., 3] = 255
    row = 10 + seed
    image[row : row + 30, 20:26, :3] = 255  # a bar, somewhere else per seed
    return image


def test_the_same_drawing_is_predicted_once_per_model() -> None:
    memo: dict = {}
    predictor = CountingPredictor()
    first = remembered_predict(memo, predictor, drawing(0))
    again = remembered_predict(memo, predictor, drawing(0).copy())  # equal content
    assert again is first and predictor.calls == 1
    remembered_predict(memo, predictor, drawing(1))
    assert predictor.calls == 2
    other = CountingPredictor()  # a promotion: a new shared predictor
    remembered_predict(memo, other, drawing(0))
    assert other.calls == 1, "a new model answers again"


def test_the_memo_is_bounded() -> None:
    memo: dict = {}
    predictor = CountingPredictor()
    for seed in range(REMEMBERED + 3):
        remembered_predict(memo, predictor, drawing(seed))
    assert len(memo["entries"]) == REMEMBERED
    remembered_predict(memo, predictor, drawing(REMEMBERED + 2))  # the newest is kept
    assert predictor.calls == REMEMBERED + 3
    remembered_predict(memo, predictor, drawing(0))  # the oldest was dropped
    assert predictor.calls == REMEMBERED + 4


def _show_a_reading(read_anyway: float | None, confidence: float = 0.99) -> None:
    from handwritten.recognition.predictor import Calibration, DigitPrediction, Prediction
    from handwritten.ui.result import show_prediction

    digits = [DigitPrediction(d, 0.99, [0.0] * 10, (0, 0, 28, 28)) for d in (3, 8)]
    prediction = Prediction(label=None, digits="38", confidence=confidence,
                            probabilities=[0.0] * 10, unsure=True, reason="unsure: …",
                            per_digit=digits, read_anyway=read_anyway, classes=11,
                            threshold=0.916)  # fmt: skip
    show_prediction(prediction, calibration=Calibration())


def test_digits_read_anyway_say_why_they_are_unsure_though_each_is_sure() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_show_a_reading, kwargs={"read_anyway": 0.97}).run()
    assert [m.value for m in at.metric] == ["38"]
    assert at.warning[0].value.startswith(
        "Unsure: part of this drawing looks like no digit to the model (97% sure)"
    )
    plain = AppTest.from_function(_show_a_reading, kwargs={"read_anyway": None}).run()
    assert plain.warning[0].value.startswith("Unsure: the model is only 99% confident")
    # Just below a cut of 91.6%, whole percent would say "92%" beside "below 91.6%".
    close = AppTest.from_function(_show_a_reading, kwargs={"read_anyway": None,
                                                           "confidence": 0.9154}).run()  # fmt: skip
    assert close.warning[0].value.startswith("Unsure: the model is only 91.5% confident")
    kwargs = {"read_anyway": None, "confidence": 0.91595}
    closer = AppTest.from_function(_show_a_reading, kwargs=kwargs).run()
    assert closer.warning[0].value.startswith("Unsure: the model is only 91.59% confident")
