"""Every registered model on one drawing: their answers side by side, and where they disagree.

The drawing is preprocessed once and each model reads the same 28×28 digits
(`Predictor.answer`), so a disagreement is the models', never the preprocessing's. The Draw
page's "Compare models" panel and ``handwritten predict FILE --compare`` show the same
`Comparison`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from handwritten.data.preprocess import preprocess
from handwritten.models.store import RegisteredModel, registered_models
from handwritten.recognition.predictor import Prediction, Predictor


@dataclass(frozen=True)
class ModelAnswer:
    """One model's reading of the drawing."""

    model: RegisteredModel
    prediction: Prediction
    agrees: bool  # reads the same digits as the most common answer

    def to_json(self) -> dict[str, Any]:
        p = self.prediction
        return {
            "model": self.model.name, "source": self.model.source, "active": self.model.active,
            "digits": p.digits, "confidence": p.confidence, "unsure": p.unsure,
            "agrees": self.agrees,
        }  # fmt: skip


@dataclass(frozen=True)
class Comparison:
    answers: list[ModelAnswer]
    consensus: str  # the most common answer ("" for no digit); ties go to the earlier model

    @property
    def agree(self) -> bool:
        return all(answer.agrees for answer in self.answers)

    def to_json(self) -> dict[str, Any]:
        return {
            "consensus": self.consensus,
            "agree": self.agree,
            "models": [answer.to_json() for answer in self.answers],
        }


def compare(
    predictors: Sequence[tuple[RegisteredModel, Predictor]],
    image: np.ndarray | bytes | Path | Image.Image,
    *,
    multi: bool = True,
) -> Comparison:
    """Each model's answer for `image` (preprocessed once), and which answers stand apart.

    Raises `ImageError` for an unreadable image, as `Predictor.predict` does.
    """
    prepared = preprocess(image, multi=multi)
    predictions = [(model, predictor.answer(prepared)) for model, predictor in predictors]
    counts = Counter(prediction.digits for _, prediction in predictions)
    consensus = max(counts, key=counts.__getitem__) if counts else ""  # first of the most common
    return Comparison(
        [ModelAnswer(model, p, p.digits == consensus) for model, p in predictions], consensus
    )


def load_registered() -> list[tuple[RegisteredModel, Predictor]]:
    """A predictor for every registered model (for one-off use; the dashboard caches its own)."""
    return [(model, Predictor.load(model.path)) for model in registered_models()]
