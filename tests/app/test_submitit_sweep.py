"""A sweep through Hydra's submitit launcher (the local executor: the code path of
``hydra/launcher=slurm`` without a cluster) lands where ``kanpde-report`` reads it; a job
of two submitit tasks trains one run data-parallel on both."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kanpde.report import main as report
from kanpde.results import read_run

pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
pytestmark = pytest.mark.slow


def _sweep(tmp_path, *overrides):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    env.pop("KANPDE_LAUNCH_TIME", None)
    proc = subprocess.run(
        [sys.executable, "-m", "kanpde", "-m", "hydra/launcher=submitit_local",
         "hydra.launcher.timeout_min=10", "train=smoke", "figures=false", *overrides],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sweeps = list((tmp_path / "results" / "sweeps").glob("*/*"))
    assert len(sweeps) == 1, sweeps
    return sweeps[0]


def test_two_point_sweep_lands_in_the_report_layout(tmp_path):
    sweep = _sweep(tmp_path, "seed=0,1")
    for n in ("0", "1"):
        rec = read_run(sweep / n / "run.h5")
        assert rec.attrs["status"] == "completed" and rec.attrs["seed"] == int(n)
    assert (sweep / ".submitit").is_dir()
    assert report([str(sweep), "-o", str(tmp_path / "study"), "--no-figures"]) == 0
    assert (tmp_path / "study" / "summary.csv").read_text().count("\n") == 2  # header + group


def test_two_task_submitit_job_trains_data_parallel(tmp_path):
    sweep = _sweep(tmp_path, "seed=0", "hydra.launcher.tasks_per_node=2")
    rec = read_run(sweep / "0" / "run.h5")
    assert rec.attrs["status"] == "completed"
    assert rec.attrs["world_size"] == 2 and rec.attrs["n_shards"] == 2
