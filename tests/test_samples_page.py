"""AppTest: saving from the Draw page, the Samples page, and the fine-tune action's guard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from handwritten.data.samples import SampleStore
from handwritten.evaluation.styles import seven_segment

from .test_app import app, fake_canvas, open_page, seven


def test_save_as_stores_the_drawing_with_the_chosen_label() -> None:
    at = app()
    fake_canvas(at, seven())
    assert at.selectbox(key="samples_save_label").value == 7  # the answer is proposed
    at.selectbox(key="samples_save_label").set_value(1).run()
    next(b for b in at.button if b.label == "Save sample").click().run()
    assert not at.exception, at.exception
    assert any("as 1 (1 sample of 1)" in s.value for s in at.success)
    _, images, labels = SampleStore().arrays()
    assert labels.tolist() == [1] and images.shape == (1, 28, 28) and images.max() > 200


def test_samples_page_counts_and_fine_tune_guard(synthetic_mnist: Path) -> None:
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


def seven_and_one() -> Image.Image:
    image = Image.new("RGBA", (320, 320), 0)
    pen = ImageDraw.Draw(image)
    pen.line([(30, 60), (140, 60), (60, 270)], fill=(255,) * 4, width=18)
    pen.line([(240, 50), (240, 270)], fill=(255,) * 4, width=18)
    return image


def test_several_digits_are_labelled_as_a_string_and_saved_one_sample_each() -> None:
    at = app()
    fake_canvas(at, seven_and_one())
    assert next(m.value for m in at.metric if m.label == "Prediction") == "71"
    labels = at.text_input(key="samples_save_digits")
    assert labels.label == "These 2 digits are" and labels.value == "71"
    assert not [b for b in at.selectbox if b.key == "samples_save_label"], "no single-digit box"
    labels.set_value("7").run()
    next(b for b in at.button if b.label == "Save samples").click().run()
    assert any("type one digit for each of the 2 digits found" in e.value for e in at.error)
    assert len(SampleStore()) == 0
    at.text_input(key="samples_save_digits").set_value("74").run()  # the "1" was really a 4
    next(b for b in at.button if b.label == "Save samples").click().run()
    assert any(s.value.startswith("Saved 2 samples (#1–#2) as 7, 4.") for s in at.success)
    samples = SampleStore().samples()
    assert sorted(s.label for s in samples) == [4, 7]
    _, images, _ = SampleStore().arrays()
    assert images.shape == (2, 28, 28) and images.max() > 200


def test_the_samples_page_opens_on_a_digit_that_has_samples() -> None:
    store = SampleStore()
    image = np.asarray(seven())
    from handwritten.data.preprocess import preprocess

    store.add(7, image, preprocess(image, multi=False).digits[0].centred, "test")
    at = open_page("pages/samples.py")
    assert at.segmented_control(key="samples_digit").value == 7
    assert [m.value for m in at.metric if m.label == "Samples"] == ["1"]
