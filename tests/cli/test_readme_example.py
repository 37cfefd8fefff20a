"""The README's "define your own problem" example is the file, and it runs as shown."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from kanpde.results import read_run

ROOT = Path(__file__).resolve().parents[2]


def _readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("## Define your own problem", 1)[1].split("\n## ", 1)[0]


def test_readme_shows_the_example_file():
    code = re.search(r"```python\n(.*?)```", _readme_section(), re.S).group(1)
    assert code.strip() == (ROOT / "examples" / "custom_problem.py").read_text().strip()
    assert len(code.strip().splitlines()) < 30


def test_readme_command_runs(tmp_path):
    cmd = re.search(r"```bash\n(.*?)```", _readme_section(), re.S).group(1).strip()
    env_part, rest = cmd.split(" kanpde ", 1)
    key, value = env_part.split("=", 1)
    env = {**os.environ, key: str(ROOT / value), "MPLBACKEND": "Agg"}
    args = shlex.split(rest) + [f"hydra.run.dir={tmp_path}"]
    proc = subprocess.run([sys.executable, "-m", "kanpde", *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rec = read_run(tmp_path / "run.h5")
    assert rec.attrs["status"] == "completed"
    assert rec.attrs["problem"] == "Poisson1D"
    assert rec.eval["coords"].shape[1] == 1


def test_readme_python_api_example_runs():
    """The plain-Python example of the README's layout section trains and reports metrics."""
    text = (ROOT / "README.md").read_text().split("## Layout", 1)[1]
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(code.replace("print(result.final)", "final = result.final"), "README", "exec"),
         namespace)
    final = namespace["final"]
    assert set(final) >= {"rel_l2", "mse", "max_abs"}
    assert final["rel_l2"] < 0.05
