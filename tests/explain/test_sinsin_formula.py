"""Slow: from the command line, a KAN [2,2,1] on Poisson `sinsin` yields sin(pi x) sin(pi y).

Exactly the two commands of the README's "Interpretability" section:

    kanpde experiment=sinsin_symbolic hydra.run.dir=<dir>
    kanpde-explain <dir>
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

from kanpde.results import read_group_attrs

ROOT = Path(__file__).resolve().parents[2]
ENTRY = {"kanpde": "kanpde", "kanpde-explain": "kanpde.explain"}


def readme_commands() -> list[list[str]]:
    """The two commands of the README's interpretability section, as argument lists."""
    text = (ROOT / "README.md").read_text().split("## Interpretability", 1)[1]
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    return [shlex.split(line) for line in block.strip().splitlines()]


def test_readme_commands_are_the_pair():
    (train, explain) = readme_commands()
    assert train[0] == "kanpde" and "experiment=sinsin_symbolic" in train
    assert explain[0] == "kanpde-explain" and explain[1] in train[-1]


@pytest.mark.slow
def test_sinsin_formula_from_the_command_line(tmp_path):
    run = tmp_path / "sinsin"
    for cmd in readme_commands():
        args = [str(run) if a == "results/runs/sinsin_symbolic" else
                f"hydra.run.dir={run}" if a.startswith("hydra.run.dir=") else a
                for a in cmd[1:]]
        proc = subprocess.run([sys.executable, "-m", ENTRY[cmd[0]], *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=1800)
        assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((run / "explain.json").read_text())
    formula = report["formula"]
    # numerically: below 1e-6 on the 201 x 201 test grid after fine-tuning
    assert formula["error"]["max_abs"] < 1e-6
    assert formula["equivalent_to_reference"]
    x, y = sympy.symbols("x y", real=True)
    expr = sympy.sympify(formula["text"], locals={"x": x, "y": y})
    g = np.linspace(-1, 1, 101)
    xx, yy = np.meshgrid(g, g, indexing="ij")
    val = sympy.lambdify((x, y), expr, "numpy")(xx, yy)
    assert np.abs(val - np.sin(np.pi * xx) * np.sin(np.pi * yy)).max() < 1e-6
    assert (run / "formula.tex").read_text().strip().startswith("u(x, y) = ")
    assert read_group_attrs(run / "run.h5", "explain")["formula"] == formula["text"]
    for name in ("explain_network.png", "explain_layer0.png", "explain_layer1.png"):
        assert (run / name).stat().st_size > 0
