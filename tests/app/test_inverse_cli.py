"""Inverse problems from the command line's config: a data term and a learned coefficient
through a solve, its history and run.h5, with every model family."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from kanpde.problems import Heat

from kanpde.app import build, solve
from kanpde.pde.observations import generate_observations, save_observations
from kanpde.report.study import build_report, write_report
from kanpde.results import read_run

MODELS = {
    "kan": ["model=kan"],
    "mlp": ["model=mlp", "model.widths=[2,12,12,1]"],
    "siren": ["model=siren", "model.widths=[2,12,12,1]"],
    "fourier_mlp": ["model=fourier_mlp", "model.widths=[2,12,1]", "model.n_features=6"],
}


@pytest.fixture
def run(compose_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")

    def _run(overrides, figures=False):
        cfg = compose_cfg(["train=smoke", f"figures={str(figures).lower()}",
                           "train.eval_every=2", *overrides])
        assert solve(build(cfg), tmp_path / "run", "# test\n") == "completed"
        return read_run(tmp_path / "run" / "run.h5"), tmp_path / "run"

    return _run


@pytest.mark.parametrize("model", list(MODELS))
def test_a_learned_coefficient_is_trained_logged_and_stored(run, model):
    rec, _ = run(["problem=heat", "data.n=60", "data.noise=0.01", "learn={diffusion:0.5}",
                  *MODELS[model]])
    coef = rec.history["coef_diffusion"]
    assert coef[0] == pytest.approx(0.5, rel=1e-12) and np.all(np.isfinite(coef))
    assert coef[-1] != coef[0]  # it was trained
    assert np.isfinite(rec.history["loss_data"]).all()
    assert rec.final["coef_diffusion"] == pytest.approx(coef[-1], rel=1e-12)
    assert rec.final["coef_diffusion_rel_error"] == pytest.approx(abs(coef[-1] - 1.0), rel=1e-9)
    assert rec.attrs["coef_diffusion_true"] == 1.0 and rec.attrs["coef_diffusion_initial"] == 0.5
    assert rec.attrs["data_points"] == 60
    np.testing.assert_allclose(rec.extra["coefficients"]["diffusion"], [coef[-1], 1.0, 0.5])


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_observations_from_a_file(run, tmp_path, suffix):
    path = save_observations(tmp_path / f"obs{suffix}", generate_observations(Heat(), 40, seed=1))
    rec, run_dir = run(["problem=heat", f"data.file={path}", "data.weight=10",
                        "learn={diffusion:2.0}"], figures=True)
    assert rec.attrs["data_points"] == 40 and rec.attrs["data_source"] == str(path)
    assert "loss_data" in rec.history
    for name in ("loss.png", "solution.png", "coefficients.png"):
        assert (run_dir / name).stat().st_size > 1000


@pytest.mark.parametrize("engine", ["jets", "autograd"])
def test_both_derivative_engines_learn_the_same_coefficient(compose_cfg, tmp_path, engine):
    cfg = compose_cfg(["train=smoke", "figures=false", "problem=heat", "data.n=50",
                       "learn={diffusion:0.5}", "derivatives=autograd",
                       "train.phases=[{optimizer:adam,steps:8}]"])
    assert solve(build(cfg), tmp_path / "a", "# test\n") == "completed"
    cfg["derivatives"] = engine
    assert solve(build(cfg), tmp_path / "b", "# test\n") == "completed"
    a, b = (read_run(tmp_path / d / "run.h5").final["coef_diffusion"] for d in "ab")
    assert a == pytest.approx(b, rel=1e-8)


def test_a_forward_solve_records_no_coefficients(run):
    rec, _ = run(["problem=heat"])
    assert not any(k.startswith("coef_") for k in rec.history)
    assert "coefficients" not in rec.extra and "data_points" not in rec.attrs


def test_the_report_lists_the_learned_coefficients(run, tmp_path):
    run(["problem=heat", "data.n=40", "learn={diffusion:0.5}"])
    write_report(build_report([tmp_path / "run"]), tmp_path / "report")
    with open(tmp_path / "report" / "runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and 0.0 < float(rows[0]["coef_diffusion"])
    assert "coef_diffusion_rel_error" in rows[0]
