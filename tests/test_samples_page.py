"""AppTest: saving from the Draw page, the Samples page, and the fine-tune action's guard."""

from __future__ import annotations

import numpy as np

from handwritten.data.samples import SampleStore
from handwritten.evaluation.styles import seven_segment

from .test_app import app, fake_canvas, seven


def test_save_as_stores_the_drawing_with_the_chosen_label() -> None:
    at = app()
    fake_canvas(at, seven())
    assert at.selectbox(key="samples_save_label").value == 7  # the answer is proposed
    at.selectbox(key="samples_save_label").set_value(1).run()
    next(b for b in at.button if b.label == "Save sample").click().run()
    assert not at.exception, at.exception
    assert any("as 1 (1 samples of 1)" in s.value for s in at.success)
    _, images, labels = SampleStore().arrays()
    assert labels.tolist() == [1] and images.shape == (1, 28, 28) and images.max() > 200


def test_samples_page_counts_and_fine_tune_guard() -> None:
    store = SampleStore()
    rng = np.random.default_rng(0)
    at = app()
    at.switch_page("pages/samples.py").run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric if m.label == "Samples"] == ["0"]
    at.switch_page("pages/train.py").run()
    tune = next(b for b in at.button if b.label == "Fine-tune on my samples")
    assert tune.disabled
    from handwritten.data.preprocess import preprocess

    store.add_many([(d, img, preprocess(img, multi=False).digits[0].centred, "test")
                    for d in range(10) for img in [seven_segment(d, rng)]])  # fmt: skip
    at.switch_page("pages/samples.py").run()
    assert [m.value for m in at.metric if m.label == "Samples"] == ["10"]
    at.switch_page("pages/train.py").run()
    assert not next(b for b in at.button if b.label == "Fine-tune on my samples").disabled
