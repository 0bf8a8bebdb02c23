"""The Draw page's "Compare models" panel: every registered model's answer for the current
drawing, side by side, the ones that differ from the most common answer marked.

The models are the shipped one, every promoted run still on disk and every imported ONNX model
(`handwritten.models.store.registered_models`); each predictor comes from the shared cache,
keyed by its file's version, and the drawing is preprocessed once (`recognition.compare`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from handwritten.data.preprocess import ImageError
from handwritten.models.store import ModelNotFoundError, registered_models
from handwritten.recognition.compare import compare
from handwritten.storage.files import FileVersion
from handwritten.ui import cache

PER_ROW = 4


def _predictors() -> list[tuple[Any, Any]]:
    """(model, predictor) for every registered model that loads; a broken one is named."""
    loaded = []
    for model in registered_models():
        try:
            loaded.append((model, cache.predictor(FileVersion.of(model.path))))
        except (ModelNotFoundError, OSError) as error:
            st.warning(f"{model.name} cannot answer: {error}")
    return loaded


def compare_panel(image: Any) -> None:
    """Each model's answer and confidence for `image` (a canvas RGBA or an upload's bytes)."""
    predictors = _predictors()
    try:
        comparison = compare(predictors, image)
    except ImageError as error:
        st.error(f"Cannot compare: {error}")
        return
    if comparison.agree:
        st.success(f"All {len(comparison.answers)} models agree.")
    else:
        differing = sum(not answer.agrees for answer in comparison.answers)
        st.warning(f"The models disagree: most read {comparison.consensus or 'no digit'}, "
                   f"{differing} read something else.")  # fmt: skip
    for start in range(0, len(comparison.answers), PER_ROW):
        row = comparison.answers[start : start + PER_ROW]
        for column, answer in zip(st.columns(PER_ROW), row, strict=False):
            with column.container(border=True):
                model, prediction = answer.model, answer.prediction
                active = " · active" if model.active else ""
                st.metric(model.name, prediction.digits or "–")
                st.caption(f"{model.source}{active} · confidence {prediction.confidence:.1%}"
                           + (" · unsure" if prediction.unsure else ""))  # fmt: skip
                if not answer.agrees:
                    st.markdown(":red-background[**differs**]")
    if len(predictors) < 2:
        st.caption("Promote a run (Train page) or import an ONNX model "
                   "(`handwritten import-model FILE.onnx --name NAME`) to compare.")  # fmt: skip
