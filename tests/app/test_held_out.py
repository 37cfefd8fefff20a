"""``train.validation`` and ``train.validation_points`` from the config: bad values refused,
a noisy run that ends with the parameters of its lowest held-out misfit, an overfit one with
those of its lowest loss on held-out points (the checkpoint carries them)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hydra.errors import ConfigCompositionException

from kanpde.app import build
from kanpde.app.solve import solve
from kanpde.results import read_run
from kanpde.train.collocation import derived_seed
from kanpde.train.config import ConfigError
from kanpde.train.loop.checkpoint import load_checkpoint
from kanpde.train.loop.trainer import HOLD_KEY, POINTS_KEY
from kanpde.train.loop.validation import HeldOut, HeldOutPoints


@pytest.mark.parametrize("value", [1.0, -0.1, 2])
def test_bad_fractions_are_refused(compose_cfg, value):
    cfg = compose_cfg(["problem=heat", "data.n=50", "train=smoke", f"train.validation={value}"])
    with pytest.raises(ConfigError, match=r"^train.validation: .* \[0, 1\)"):
        build(cfg)


def test_a_noisy_run_ends_with_its_best_held_out_parameters(compose_cfg, tmp_path):
    cfg = compose_cfg(["problem=heat", "data.n=60", "data.noise=0.5", "train=smoke",
                       "train.validation=0.25", "train.eval_every=1", "figures=false",
                       "train.checkpoint_every=2"])
    plan = build(cfg)
    assert solve(plan, tmp_path, "") == "completed"
    run = read_run(tmp_path / "run.h5")
    val = np.asarray(run.history["val_data"])
    assert val.shape == np.asarray(run.history["step"]).shape and np.isfinite(val).all()
    best = int(np.argmin(val))
    held = HeldOut(plan.problem, 0.25, 0, torch.device("cpu"), torch.float64)
    assert held.misfit(plan.model) == pytest.approx(val[best], rel=1e-10)
    if best != len(val) - 1:
        step = int(run.history["step"][best])
        assert f"parameters of step {step}" in run.attrs["message"]
    state = load_checkpoint(tmp_path / "checkpoint.pt")["state"]
    assert state["best"]["val_data"] == pytest.approx(val[best], rel=1e-12)


def test_bad_held_out_point_counts_are_refused(compose_cfg):
    cfg = compose_cfg(["problem=poisson", "train=smoke", "train.validation_points=-1"])
    with pytest.raises(ConfigError, match=r"^train.validation_points: must be >= 0"):
        build(cfg)
    with pytest.raises(ConfigCompositionException, match="train.validation_points=many"):
        compose_cfg(["problem=poisson", "train=smoke", "train.validation_points=many"])


def test_held_out_points_and_observations_exclude_each_other(compose_cfg):
    cfg = compose_cfg(["problem=heat", "data.n=50", "train=smoke", "train.validation=0.2",
                       "train.validation_points=64"])
    with pytest.raises(ConfigError, match=r"^train.validation_points: .*one held-out set"):
        build(cfg)


def test_an_overfit_run_ends_with_its_best_held_out_points_parameters(compose_cfg, tmp_path):
    """Twelve interior points, fitted to a loss of ~1e-20 by Gauss-Newton: the loss on 256
    held-out points grows, and the run ends with the parameters of its minimum."""
    cfg = compose_cfg(["problem=poisson", "train=smoke", "train.n_interior=12",
                       "train.n_boundary=8", "train.validation_points=256",
                       "train.eval_every=1", "figures=false", "train.checkpoint_every=4",
                       "train.phases=[{optimizer: gauss_newton, steps: 12, max_iter: 5}]",
                       "train.grid.extend_at=[]", "train.grid.sizes=[]"])
    plan = build(cfg)
    assert solve(plan, tmp_path, "") == "completed"
    run = read_run(tmp_path / "run.h5")
    val, loss = np.asarray(run.history["val_points"]), np.asarray(run.history["loss"])
    assert val.shape == loss.shape and np.isfinite(val).all()
    best = int(np.argmin(val))
    assert loss[-1] < 1e-6 * loss[best] and val[-1] > 1.5 * val[best]  # overfit, then kept
    assert f"parameters of step {int(run.history['step'][best])}" in run.attrs["message"]
    held = HeldOutPoints(plan.problem, plan.sampler, 256, 171,
                         derived_seed(cfg["seed"], HOLD_KEY, POINTS_KEY),
                         torch.device("cpu"), torch.float64)
    assert held.misfit(plan.model) == pytest.approx(val[best], rel=1e-10)
    state = load_checkpoint(tmp_path / "checkpoint.pt")["state"]
    assert state["best"]["val_points"] == pytest.approx(val[best], rel=1e-12)


def test_held_out_points_leave_out_terms_of_weight_zero(compose_cfg):
    plan = build(compose_cfg(["problem=poisson", "train=smoke"]))
    terms = [t for t in plan.problem.terms if t != "residual"]
    weights = {t: 1.0 for t in plan.problem.terms} | {terms[0]: 0.0}
    held = HeldOutPoints(plan.problem, plan.sampler, 64, 16, 3, torch.device("cpu"),
                         torch.float64, weights)
    assert set(held.points) == set(plan.problem.terms) - {terms[0]}
    assert len(held.points["residual"]) == 64
    everything = HeldOutPoints(plan.problem, plan.sampler, 64, 16, 3, torch.device("cpu"),
                               torch.float64, dict.fromkeys(plan.problem.terms, 1.0))
    assert everything.misfit(plan.model) > held.misfit(plan.model) > 0
