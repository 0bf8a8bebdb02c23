"""ARCHITECTURE.md held against the code: imports flow down the layers; modules and functions
stay within the house sizes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "handwritten"
# Bottom to top, as drawn in ARCHITECTURE.md.
LAYERS = (
    "storage", "data", "runtime", "models", "recognition", "evaluation", "training", "jobs",
    "analysis", "figures", "cli", "ui",
)  # fmt: skip
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE)


def layer_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0]


def imported_layers(path: Path) -> set[str]:
    """The handwritten subpackages a module imports (at any depth: lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "handwritten" and len(parts) > 1 and parts[1] in LAYERS:
                found.add(parts[1])
    return found


def test_every_subpackage_is_a_drawn_layer() -> None:
    drawn = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert drawn == set(LAYERS)
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text()
    for layer in LAYERS:
        assert f"handwritten/{layer}/" in text


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_down(path: Path) -> None:
    own = LAYERS.index(layer_of(path))
    upward = {layer for layer in imported_layers(path) if LAYERS.index(layer) > own}
    assert not upward, f"{path.relative_to(PACKAGE)} imports from layers above it: {upward}"


def test_no_module_is_left_out_of_the_table() -> None:
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text()
    for path in modules():
        if path.name == "__init__.py":
            continue
        relative = path.relative_to(PACKAGE).as_posix()
        covered = (
            relative in text
            or (path.name.endswith("_commands.py") and "cli/*_commands.py" in text)
            or (path.name.endswith("_view.py") and "ui/*_view.py" in text)
        )
        assert covered, f"ARCHITECTURE.md does not describe {relative}"


def test_modules_and_functions_stay_small() -> None:
    too_long = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.name}:{node.lineno} {node.name}: {length} lines")
    assert not too_long


def test_the_layer_check_can_fail(tmp_path: Path) -> None:
    module = tmp_path / "x.py"
    module.write_text("def f():\n    from handwritten.ui.cache import active_predictor\n")
    assert imported_layers(module) == {"ui"}
