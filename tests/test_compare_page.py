"""AppTest for "Compare models" on the Draw page, and the other pages with an imported or a
custom network as the active model."""

from __future__ import annotations

from pathlib import Path

from flax import nnx
from streamlit.testing.v1 import AppTest

from handwritten.models.architectures import create_model
from handwritten.models.checkpoint import save_checkpoint
from handwritten.models.imported import register_onnx
from handwritten.models.store import promote
from handwritten.storage.paths import runs_dir
from handwritten.storage.runs import RunDir
from handwritten.ui import state

from .onnx_models import always, save
from .test_app import app, fake_canvas, open_page, seven

EVERY_KIND = "conv4x4x6,bn,tanh,avgpool2,conv3x3x8valid,relu,pool2,dropout0.2,gap,dense16,bn,relu"


def custom_run(spec: str = EVERY_KIND) -> RunDir:
    run = RunDir.create("custom", root=runs_dir())
    run.write_config({"arch": "custom", "layers": spec, "epochs": 1})
    run.set_status("finished")
    _, params, batch_stats = nnx.split(create_model("custom", layers=spec), nnx.Param, ...)
    save_checkpoint(run.checkpoint_path, arch="custom", params=params, batch_stats=batch_stats,
                    layers=spec)  # fmt: skip
    return run


def compared(tmp_path: Path) -> tuple[AppTest, dict[str, str]]:
    """Draw a 7 with the Compare toggle on; the page and {model: answer} of its cards."""
    at = app()
    at.toggle(key=state.COMPARE).set_value(True).run()
    fake_canvas(at, seven())
    assert any(s.value == "Compare models" for s in at.subheader)
    cards = [m for m in at.main.metric if m.label != "Prediction"]
    return at, {m.label: m.value for m in cards}


def test_compare_shows_every_registered_model_and_marks_the_odd_one(tmp_path: Path) -> None:
    register_onnx(save(always(3), tmp_path / "threes.onnx"), "threes")
    run = custom_run("dense32,relu")
    promote(run.path)
    at, answers = compared(tmp_path)
    assert set(answers) == {"shipped", run.id, "threes"}
    assert answers["shipped"] == "7" and answers["threes"] == "3"
    assert any("The models disagree" in w.value for w in at.warning)
    differs = [m.value for m in at.markdown if "differs" in m.value]
    assert len(differs) >= 1
    assert any("imported · confidence" in c.value for c in at.caption)
    assert any("promoted · active" in c.value for c in at.caption)


def test_compare_with_one_model_says_how_to_add_more(tmp_path: Path) -> None:
    at, answers = compared(tmp_path)
    assert answers == {"shipped": "7"}
    assert any("All 1 models agree" in s.value for s in at.success)
    assert any("import-model" in c.value for c in at.caption)


def test_an_imported_active_model_answers_and_explain_says_why_it_cannot_open_it(
    tmp_path: Path, synthetic_mnist: Path
) -> None:
    register_onnx(save(always(4), tmp_path / "fours.onnx"), "fours")
    promote("fours")
    at = app()
    fake_canvas(at, seven())
    assert next(m.value for m in at.metric if m.label == "Prediction") == "4"
    assert "fours" in " ".join(m.value for m in at.sidebar.markdown)
    open_page("pages/explain.py", at)
    assert any("an imported ONNX model" in i.value for i in at.info)
    open_page("pages/data.py", at)  # its test-set scores come through onnxruntime


def test_a_custom_network_opens_on_the_explain_and_data_pages(synthetic_mnist: Path) -> None:
    promote(custom_run().path)
    at = app()
    fake_canvas(at, seven())
    open_page("pages/explain.py", at)
    assert any("The model (`custom`)" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) >= 10
    open_page("pages/data.py", at)
