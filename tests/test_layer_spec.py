"""The layer spec: parsing, one-line refusals naming the token, shapes and costs by hand."""

from __future__ import annotations

import pytest

from handwritten.models.architectures import count_parameters, create_model
from handwritten.models.layer_spec import (
    SHORTCUTS,
    LayerSpecError,
    canonical,
    parse_layers,
    plan_layers,
    shortcut_for,
)

EXAMPLE = "conv3x3x16,relu,pool2,conv3x3x32,relu,pool2,dense64,relu"


def test_the_readme_example_has_105866_parameters() -> None:
    plan = plan_layers(EXAMPLE)
    # conv 3*3*1*16+16, conv 3*3*16*32+32, dense 7*7*32*64+64, logits 64*10+10
    assert plan.parameters == 160 + 4640 + 100_416 + 650 == 105_866


@pytest.mark.parametrize("name", sorted(SHORTCUTS))  # cnn_open has no spec: the cnn's + 1 output
def test_each_shortcut_counts_what_its_module_holds(name: str) -> None:
    assert plan_layers(name).parameters == count_parameters(create_model(name))
    assert plan_layers(SHORTCUTS[name]).parameters == count_parameters(create_model(name))


def test_shapes_multiply_adds_and_activation_memory_by_hand() -> None:
    plan = plan_layers("conv5x5x4valid,bn,tanh,avgpool3,conv2x2x6,dropout0.25,gap,dense7")
    shapes = {layer.name: layer.shape for layer in plan.layers}
    assert shapes == {
        "input": (28, 28, 1), "conv1": (24, 24, 4), "norm1": (24, 24, 4), "tanh1": (24, 24, 4),
        "avgpool1": (8, 8, 4), "conv2": (8, 8, 6), "dropout1": (8, 8, 6), "gap": (6,),
        "dense1": (7,), "logits": (10,),
    }  # fmt: skip
    by_name = {layer.name: layer for layer in plan.layers}
    # conv1 is followed by bn: no bias. bn: scale and bias per channel.
    assert by_name["conv1"].parameters == 5 * 5 * 1 * 4 and not by_name["conv1"].bias
    assert by_name["norm1"].parameters == 2 * 4
    assert by_name["conv2"].parameters == 2 * 2 * 4 * 6 + 6
    assert by_name["dense1"].parameters == 6 * 7 + 7
    assert by_name["logits"].parameters == 7 * 10 + 10
    assert plan.macs == 24 * 24 * 25 * 4 + 8 * 8 * 2 * 2 * 4 * 6 + 6 * 7 + 7 * 10
    values = 3 * 24 * 24 * 4 + 8 * 8 * 4 + 2 * 8 * 8 * 6 + 6 + 7 + 10  # input is not counted
    assert plan.activation_bytes(32) == values * 4 * 32


def test_flatten_and_the_final_dense_layer_are_implied() -> None:
    plan = plan_layers("conv3x3x2")
    assert [(layer.name, layer.text) for layer in plan.layers[-2:]] == [
        ("flatten", "(implied)"), ("logits", "(implied)"),
    ]  # fmt: skip
    assert plan.layers[-2].shape == (28 * 28 * 2,) and plan.layers[-1].module == "dense1"
    assert plan_layers("dense5,dense6").layers[-1].module == "dense3"


def test_canonical_spelling_and_shortcuts() -> None:
    tokens = parse_layers(" Conv3x3x8 , ReLU,dropout0.50,Dense10 ")
    assert canonical(tokens) == "conv3x3x8,relu,dropout0.5,dense10"
    assert canonical(parse_layers("lenet")) == SHORTCUTS["lenet"]
    assert shortcut_for(SHORTCUTS["cnn"]) == "cnn" and shortcut_for(EXAMPLE) is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("conv3x3,relu", "layer 1 'conv3x3': write it as conv{k}x{k}x{n}"),
        ("relu,maxpool2", "layer 2 'maxpool2': unknown layer; use conv{k}x{k}x{n}"),
        ("softmax", "layer 1 'softmax': unknown layer"),
        ("relu,,relu", "layer 2 '': empty layer"),
        ("", "no layers"),
        ("conv3x5x8", "layer 1 'conv3x5x8': kernels are square"),
        ("conv0x0x8", "layer 1 'conv0x0x8': sizes must be at least 1"),
        ("pool2,pool2,pool2,pool2,pool2", "layer 5 'pool2': shrinks the 1×1 image it gets below"),
        ("pool30", "layer 1 'pool30': shrinks the 28×28 image it gets below 1×1"),
        ("conv29x29x4valid", "layer 1 'conv29x29x4valid': a 29×29 kernel does not fit the 28×28"),
        ("dense8,pool2", "layer 2 'pool2': needs an image, but an earlier dense or gap layer"),
        ("gap,conv3x3x4", "layer 2 'conv3x3x4': needs an image"),
        ("dropout1.5", "layer 1 'dropout1.5': the dropout rate must be at least 0 and below 1"),
        ("dropoutx", "layer 1 'dropoutx': write it as dropout{p}"),
        ("dense99999", "layer 1 'dense99999': at most 8,192 channels or units"),
        ("dense8000,dense8000", "layer 2 'dense8000': too many parameters for this machine"),
        (",".join(["relu"] * 65), "65 layers: at most 64"),
    ],
)
def test_bad_specs_name_the_token_and_why(spec: str, message: str) -> None:
    with pytest.raises(LayerSpecError) as caught:
        plan_layers(spec)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_the_parameter_budget_names_the_layer_that_crosses_it() -> None:
    with pytest.raises(LayerSpecError, match=r"layer 1 'dense64': too many .* at most 1,000\)"):
        plan_layers("dense64", max_parameters=1000)
    with pytest.raises(LayerSpecError, match="the implied final dense10: too many"):
        plan_layers("gap", max_parameters=10)  # 1*10 + 10 = 20 parameters
    assert plan_layers("gap", max_parameters=20).parameters == 20
