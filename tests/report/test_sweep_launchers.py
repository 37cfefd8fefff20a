"""Real sweeps through Hydra launchers, then kanpde-report on their output.

Two points of the compare preset (Poisson: KAN and its matched MLP) at train=smoke; the
report's parameter counts are checked against models built here independently.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kanpde.models import KAN, MLP, count_parameters
from kanpde.models.params import match_width
from kanpde.report import main
from kanpde.report.sweeps import expected_jobs

POINTS = ["experiment/compare_case=poisson", "model=kan,mlp"]


def _sweep(tmp_path: Path, launcher: list[str], timeout: int) -> Path:
    sweep = tmp_path / "sweep"
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    cmd = [
        sys.executable,
        "-m",
        "kanpde",
        "-m",
        "experiment=compare",
        *POINTS,
        "seed=0",
        "train=smoke",
        "figures=false",
        f"hydra.sweep.dir={sweep}",
        *launcher,
    ]
    proc = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return sweep


def _parsed(override: str) -> tuple:
    """key and YAML value of ``key=value`` (Hydra writes false as False)."""
    key, _, value = override.partition("=")
    return key, yaml.safe_load(value)


def _check_sweep_and_report(sweep: Path, tmp_path: Path) -> None:
    files = sorted(sweep.rglob("run.h5"))
    assert [f.parent.name for f in files] == ["0", "1"]

    # the report's idea of the job list is Hydra's
    jobs = expected_jobs(sweep / "multirun.yaml")
    assert jobs is not None and len(jobs) == 2
    for n, job in enumerate(jobs):
        written = yaml.safe_load((sweep / str(n) / ".hydra" / "overrides.yaml").read_text())
        assert [_parsed(o) for o in job] == [_parsed(o) for o in written]

    out = tmp_path / "study"
    assert main([str(sweep), "-o", str(out)]) == 0
    with open(out / "summary.csv", newline="") as fh:
        rows = {r["model"]: r for r in csv.DictReader(fh)}
    assert sorted(rows) == ["KAN", "MLP"]
    # smoke schedule: KAN grid 5 -> 7 at step 4; the table shows the trained model's count
    kan = KAN([2, 10, 1], grid_size=5, spline_order=5, seed=0)  # the compare KAN
    assert int(rows["KAN"]["params_init"]) == count_parameters(kan)
    kan.extend_grid(7)
    assert rows["KAN"]["grid"] == "5->7"
    assert int(rows["KAN"]["params"]) == count_parameters(kan)
    # the matching rule sizes the MLP to the KAN's final count under this schedule
    w = match_width("mlp", count_parameters(kan), 2, 1, 3)
    assert int(rows["MLP"]["params"]) == count_parameters(MLP([2, w, w, w, 1], seed=0))
    assert abs(int(rows["MLP"]["params"]) / count_parameters(kan) - 1) < 0.03
    for r in rows.values():
        assert (r["runs"], r["completed"], r["seeds"]) == ("1", "1", "0")
        assert 0 < float(r["rel_l2_mean"]) < 10 and r["rel_l2_std"] == ""
        assert float(r["steps_mean"]) == 10  # the smoke schedule: 6 Adam, 2 L-BFGS, 2 Gauss-Newton
    md = (out / "report.md").read_text()
    assert "None: every run file was readable and completed." in md
    assert "None found" in md
    assert (out / "error_vs_params.png").is_file()


def test_joblib_two_point_sweep_and_report(tmp_path: Path):
    sweep = _sweep(tmp_path, ["hydra/launcher=local"], timeout=240)
    assert "JoblibLauncher" in (sweep / "multirun.yaml").read_text()
    _check_sweep_and_report(sweep, tmp_path)


@pytest.mark.slow
def test_submitit_local_two_point_sweep_and_report(tmp_path: Path):
    """The submitit path of the Slurm launcher, with submitit's local executor."""
    sweep = _sweep(
        tmp_path,
        [
            "hydra/launcher=submitit_local",
            "hydra.launcher.timeout_min=10",
            "hydra.launcher.cpus_per_task=1",
        ],
        timeout=600,
    )
    assert (sweep / ".submitit").is_dir()
    _check_sweep_and_report(sweep, tmp_path)
