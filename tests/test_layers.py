"""The package's layers, enforced: every kanpde module imports only from its own layer and
the layers below it, at module level (no kanpde import hidden inside a function).

    core (errors, paths, version, Jet algebra) -> native -> models -> pde -> train -> explain
    problems -> pde
    results (run.h5 schema, read, write) -> figures -> report
    app (the Hydra application) on top; bench a leaf (nothing imports it)

``__main__`` modules are entry points and may import the application.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: layer -> the layers it may import from (itself included)
ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "native": {"core", "native"},
    "models": {"core", "native", "models"},
    "pde": {"core", "native", "models", "pde"},
    "problems": {"core", "pde", "problems"},
    "train": {"core", "native", "models", "pde", "train"},
    "results": {"core", "results"},
    "figures": {"core", "results", "figures"},
    "report": {"core", "results", "figures", "report"},
    "explain": {"core", "native", "models", "pde", "train", "results", "figures", "explain"},
    "app": {"core", "native", "models", "pde", "problems", "train", "explain", "results",
            "figures", "report", "app", "conf"},
    "conf": {"conf"},
    "bench": {"core", "native", "models", "pde", "problems", "train", "explain", "results",
              "figures", "report", "app", "bench"},
    "top": {"core"},  # kanpde/__init__.py: the version; the API resolves lazily
}
ENTRY = {"app", "bench"}  # what a __main__ module may import as well


def layer_of(module: str) -> str:
    """The layer of a dotted kanpde module name."""
    parts = module.split(".")
    if parts == ["kanpde"]:
        return "top"
    if parts[0] != "kanpde" or len(parts) < 2:
        raise ValueError(f"not a kanpde module: {module}")
    name = parts[1]
    if name in ALLOWED:
        return name
    if name == "__main__":
        return "app"
    raise ValueError(f"{module}: no layer is declared for kanpde.{name} (tests/test_layers.py)")


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[0] in ("problems", "conf"):  # installed as kanpde.problems / kanpde.conf
        parts = ["kanpde", *parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def violations(root: Path) -> list[str]:
    """Every forbidden import under ``root`` (kanpde/, problems/, conf/), one line each."""
    out = []
    files = [p for d in ("kanpde", "problems", "conf") for p in sorted((root / d).rglob("*.py"))]
    for path in files:
        module = module_name(path, root)
        layer = layer_of(module)
        allowed = ALLOWED[layer] | (ENTRY if module.endswith("__main__") else set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            else:
                continue
            for target in targets:
                if target.split(".")[0] == "problems":
                    target = f"kanpde.{target}"
                if target.split(".")[0] != "kanpde":
                    continue
                where = f"{path.relative_to(root)}:{node.lineno}"
                if node.col_offset > 0:
                    out.append(f"{where}: {target} imported inside a function or block")
                if layer_of(target) not in allowed:
                    out.append(f"{where}: {module} ({layer}) imports {target} "
                               f"({layer_of(target)}); allowed: {sorted(allowed)}")
    return out


def test_the_package_keeps_its_layers():
    assert violations(ROOT) == []


@pytest.mark.parametrize(("module", "line", "expect"), [
    ("kanpde/models/kan/network.py", "from kanpde.train import Trainer", "imports kanpde.train"),
    ("kanpde/pde/geometry/box.py", "import kanpde.explain", "imports kanpde.explain"),
    ("problems/heat.py", "from kanpde.train.config import TrainConfig", "(problems) imports"),
    ("kanpde/results/read.py", "from kanpde.models import KAN", "(results) imports"),
    ("kanpde/train/loop/trainer.py", "def f():\n    from kanpde.pde import Box\n",
     "inside a function"),
])
def test_a_forbidden_import_is_caught(tmp_path, module, line, expect):
    for d in ("kanpde", "problems", "conf"):
        shutil.copytree(ROOT / d, tmp_path / d, ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")
    found = violations(tmp_path)
    assert any(expect in v and module in v for v in found), found


def test_every_package_directory_is_declared_in_pyproject():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for init in ROOT.joinpath("kanpde").rglob("__init__.py"):
        package = ".".join(init.parent.relative_to(ROOT).parts)
        assert f'"{package}"' in text, f"{package} missing from [tool.setuptools] packages"


MAX_MODULE_LINES = 400


def test_no_module_is_over_400_lines():
    """One concept per file: a module that grows past this is split, unless one concept
    needs the length and its docstring says so (a line starting ``Over 400 lines:``)."""
    import ast

    long = {}
    for root in (ROOT / "kanpde", ROOT / "problems"):
        for path in root.rglob("*.py"):
            text = path.read_text()
            n = len(text.splitlines())
            doc = ast.get_docstring(ast.parse(text)) or ""
            said = any(line.startswith("Over 400 lines:") for line in doc.splitlines())
            if n > MAX_MODULE_LINES and not said:
                long[str(path.relative_to(ROOT))] = n
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"
