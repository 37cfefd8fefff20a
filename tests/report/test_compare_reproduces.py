"""``kanpde experiment=compare`` reproduces a row of the committed study (results/compare).

Slow (~3 minutes on one core): one run of the preset's default point, Poisson with the
KAN [2,10,1] at seed 0, exactly as the study ran it, then its rel_l2 is checked against
the seed spread of the same row of ``results/compare/summary.csv``.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kanpde.results import read_run

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = ROOT / "results" / "compare" / "summary.csv"


def _row(problem: str, model: str) -> dict[str, str]:
    with open(SUMMARY, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["problem"] == problem and r["model"] == model]
    assert len(rows) == 1, f"expected one {problem}/{model} row in {SUMMARY}, got {len(rows)}"
    return rows[0]


@pytest.mark.slow
def test_compare_reproduces_the_poisson_kan_row(tmp_path: Path):
    row = _row("Poisson", "KAN")
    assert int(row["completed"]) >= 2, "the committed row should aggregate several seeds"
    run_dir = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-m", "kanpde", "experiment=compare", "seed=0", "figures=false",
           f"hydra.run.dir={run_dir}"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = read_run(run_dir / "run.h5")
    rel = rec.final["rel_l2"]
    mean, std = float(row["rel_l2_mean"]), float(row["rel_l2_std"])
    lo = min(float(row["rel_l2_min"]), mean - 2 * std)
    hi = max(float(row["rel_l2_max"]), mean + 2 * std)
    assert lo <= rel <= hi, f"rel_l2 {rel:.3e} outside the seed spread [{lo:.3e}, {hi:.3e}]"
    assert int(rec.attrs["n_params_final"]) == int(float(row["params"]))
