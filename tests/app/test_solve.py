"""End to end: every problem with every model family, divergence, bad configs."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from kanpde.app import build, solve
from kanpde.results import read_run

# Small references keep the end-to-end runs fast (the benchmark settings are the defaults).
PROBLEMS = {
    "poisson": [],
    "poisson_sinsin": ["problem=poisson", "problem.variant=sinsin"],
    "allen_cahn": ["problem=allen_cahn", "problem.reference_modes=64",
                   "problem.reference_dt=1e-3"],
    "allen_cahn_dirichlet": ["problem=allen_cahn", "problem.variant=dirichlet",
                             "problem.reference_intervals=512"],
    "darcy": ["problem=darcy"],
    "darcy_random_field": ["problem=darcy", "problem.variant=random_field",
                           "problem.reference_cells=128"],
    "heat": ["problem=heat"],
    "heat_2d": ["problem=heat", "problem.variant=diffusion2d"],
    "lshape": ["problem=lshape"],
    "kovasznay": ["problem=kovasznay"],
    "poisson_3d": ["problem=poisson_nd"],
    "helmholtz": ["problem=helmholtz"],
}
# (inputs, outputs) where not (2, 1)
DIMS = {"heat_2d": (3, 1), "kovasznay": (2, 3), "poisson_3d": (3, 1)}
MODELS = {
    "kan": ["model=kan"],
    "kan_chebyshev": ["model=kan", "model.basis=chebyshev"],
    "mlp": ["model=mlp", "model.widths=[2,16,16,1]"],
    "siren": ["model=siren", "model.widths=[2,16,16,1]"],
    "fourier_mlp": ["model=fourier_mlp", "model.widths=[2,16,1]", "model.n_features=8"],
}


def _widths_for(problem: str, model: list[str]) -> list[str]:
    if problem not in DIMS:
        return model
    d_in, d_out = DIMS[problem]
    out = [re.sub(r"widths=\[2,(.*),1\]", rf"widths=[{d_in},\g<1>,{d_out}]", o) for o in model]
    if not any("widths" in o for o in out):
        out.append(f"model.widths=[{d_in},6,{d_out}]")
    return out


@pytest.fixture
def run(compose_cfg, tmp_path, monkeypatch):
    """run(overrides) -> (status, RunRecord, run_dir), solving in-process."""
    monkeypatch.setenv("MPLBACKEND", "Agg")

    def _run(overrides, name="run"):
        cfg = compose_cfg(["train=smoke", "figures=false", "train.eval_every=4", *overrides])
        run_dir = tmp_path / name
        status = solve(build(cfg), run_dir, "# test\n")
        return status, read_run(run_dir / "run.h5"), run_dir

    return _run


def _check_record(rec, problem: str, model: str) -> None:
    """The run record of a smoke solve: complete, finite, shaped, and the model learned."""
    assert rec.attrs["status"] == "completed"
    assert rec.attrs["n_params"] > 0
    hist = rec.history
    assert hist["step"][-1] == 10  # smoke: 6 Adam, 2 L-BFGS, 2 Gauss-Newton steps
    assert np.isfinite(hist["loss"]).all()
    assert np.all(np.diff(hist["step"]) > 0)
    assert {"loss", "rel_l2", "mse", "max_abs", "grid_size", "time_s"} <= set(hist)
    assert any(k.startswith("loss_") for k in hist)
    assert hist["loss"][-1] < hist["loss"][0]  # the ten steps trained: an untrained model fails
    assert np.isfinite(rec.final["rel_l2"]) and rec.final["rel_l2"] > 0
    ev = rec.eval
    n = ev["coords"].shape[0]
    assert ev["u_pred"].shape == ev["u_ref"].shape == (n, DIMS.get(problem, (2, 1))[1])
    assert rec.model_state, "model state missing"
    if model == "kan":  # bspline basis: grid schedule applies
        assert hist["grid_size"][-1] == 7  # the smoke grid schedule extends 5 -> 7 at step 4
        assert "edges" in rec.extra


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_every_problem_solves_with_a_kan(run, problem):
    status, rec, _ = run(PROBLEMS[problem] + _widths_for(problem, MODELS["kan"]))
    assert status == "completed"
    _check_record(rec, problem, "kan")


@pytest.mark.parametrize("model", [m for m in MODELS if m != "kan"])
@pytest.mark.parametrize("problem", ["poisson", "kovasznay", "poisson_3d"])
def test_every_model_family_solves(run, problem, model):
    """Each family on a scalar 2-D problem, a three-output system and a 3-D problem (the
    input and output widths every family must follow)."""
    status, rec, _ = run(PROBLEMS[problem] + _widths_for(problem, MODELS[model]))
    assert status == "completed"
    _check_record(rec, problem, model)


# Representative solves that assert accuracy (seconds each on 2 cores; measured errors in
# the comments, the bounds leave about a factor 10)
ACCURATE = {
    "poisson_kan_gauss_newton": (
        ["problem=poisson", "problem.variant=sinsin", "model=kan", "model.widths=[2,5,1]",
         "train.n_interior=1000", "train.n_boundary=200",
         "train.phases=[{optimizer:gauss_newton,steps:30}]", "train.grid.extend_at=[15]",
         "train.grid.sizes=[10]"], 1e-3),  # measured 1.3e-4
    "heat_mlp_gauss_newton": (
        ["problem=heat", "model=mlp", "model.widths=[2,16,16,1]", "train.n_interior=1000",
         "train.n_boundary=200", "train.phases=[{optimizer:gauss_newton,steps:30}]"],
        3e-3),  # measured 2.4e-4
    "darcy_kan_lbfgs": (
        ["problem=darcy", "model=kan", "model.widths=[2,5,1]", "train.n_interior=1000",
         "train.n_boundary=200", "train.phases=[{optimizer:lbfgs,steps:20}]",
         "train.grid.extend_at=[]", "train.grid.sizes=[]"], 5e-2),  # measured 4.7e-3
}


@pytest.mark.parametrize("case", list(ACCURATE))
def test_representative_solves_are_accurate(compose_cfg, tmp_path, case):
    overrides, bound = ACCURATE[case]
    cfg = compose_cfg(["figures=false", "train.progress=false", *overrides])
    assert solve(build(cfg), tmp_path, "# test\n") == "completed"
    rel = read_run(tmp_path / "run.h5").final["rel_l2"]
    assert rel < bound, f"{case}: rel_l2 {rel:.3e} >= {bound:g}"


def test_figures_are_written(compose_cfg, tmp_path):
    cfg = compose_cfg(["train=smoke", "problem=heat"])
    assert solve(build(cfg), tmp_path, "# test\n") == "completed"
    for name in ("loss.png", "error.png", "solution.png", "edges.png"):
        assert (tmp_path / name).stat().st_size > 1000, name


def test_injected_divergence_is_reported(run):
    status, rec, _ = run(["train.lr=1e6", "train.max_rollbacks=2",
                          "train.phases=[{optimizer:adam,steps:30}]"])
    assert status == "diverged"
    assert rec.attrs["status"] == "diverged"
    assert "diverged" in rec.attrs["message"] and "train.lr" in rec.attrs["message"]


def test_float32_runs(run):
    status, rec, _ = run(["dtype=float32"])
    assert status == "completed" and rec.attrs["dtype"] == "float32"


@pytest.mark.parametrize("engine", ["jets", "autograd"])
def test_derivative_engines(run, engine):
    status, rec, _ = run([f"derivatives={engine}"])
    assert status == "completed"


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["model=transformer"], "model"),
        (["model.grid_size=-3"], "model"),
        (["problem.variant=nonexistent"], "problem"),
    ],
)
def test_bad_config_one_line_message(tmp_path, overrides, key):
    proc = subprocess.run(
        [sys.executable, "-m", "kanpde", "train=smoke", f"hydra.run.dir={tmp_path}", *overrides],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert key in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run.h5").exists()
