"""``train.validation`` from the config: bad fractions refused, and a noisy run that ends
with the parameters of its lowest held-out misfit (the checkpoint carries them)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kanpde.app import build
from kanpde.app.solve import solve
from kanpde.results import read_run
from kanpde.train.config import ConfigError
from kanpde.train.loop.checkpoint import load_checkpoint
from kanpde.train.loop.validation import HeldOut


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
