"""The README's "define your own problem" example is the file, and it runs as shown."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

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


def _python_example() -> str:
    text = (ROOT / "README.md").read_text().split("## Layout", 1)[1]
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_readme_python_example_builds_the_run_of_kanpde_on_defaults():
    """The plain-Python example and ``kanpde`` (composed and built as the command does)
    construct the same problem, model (same initial parameters), sampler and schedule."""
    import torch
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from kanpde.app import build, conf_dir
    from kanpde.train import Trainer

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = OmegaConf.to_container(compose(config_name="solve"), resolve=True)
    GlobalHydra.instance().clear()
    plan = build(cfg)
    problem, model, sampler, train_cfg, dtype = (plan.problem, plan.model, plan.sampler,
                                                 plan.train, plan.dtype)
    seen = {}
    original = Trainer.fit
    Trainer.fit = lambda self: seen.setdefault("trainer", self)
    try:
        exec(compile(_python_example().replace("print(result.final)", ""), "README", "exec"),
             {})
    finally:
        Trainer.fit = original
    mine = seen["trainer"]
    assert mine.cfg == train_cfg and mine.dtype == dtype == torch.float64
    assert mine.engine == cfg["derivatives"] and mine.seed == cfg["seed"]
    assert type(mine.problem) is type(problem) and mine.problem.variant == problem.variant
    assert mine.problem.loss_weights == problem.loss_weights
    assert type(mine.sampler) is type(sampler)
    ours, theirs = mine.model.state_dict(), model.to(dtype).state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        torch.testing.assert_close(ours[key], theirs[key], rtol=0, atol=0, msg=key)


@pytest.mark.slow
def test_readme_python_example_reaches_the_default_accuracy():
    namespace: dict = {}
    code = _python_example().replace("print(result.final)", "final = result.final")
    exec(compile(code, "README", "exec"), namespace)
    final = namespace["final"]
    assert set(final) >= {"rel_l2", "mse", "max_abs", "rel_h1"}
    assert final["rel_l2"] < 1e-6
