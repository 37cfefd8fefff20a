"""The parts of the training loop, each on its own: history rows, the grid schedule, the NaN
guard, stop signals and the time budget, the first-order step, the setup checks."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch
from kanpde.problems.allen_cahn import AllenCahn
from kanpde.problems.poisson import Poisson
from torch import nn

from kanpde.models import KAN, MLP, ScaledModel
from kanpde.train import distributed
from kanpde.train.config import ConfigError, GridSchedule, TrainConfig
from kanpde.train.loop.first_order import first_order_step
from kanpde.train.loop.grid_events import apply_grid_events, grid_event, has_grid
from kanpde.train.loop.guard import EXPLODE, Snapshot, healthy
from kanpde.train.loop.history import append_row
from kanpde.train.loop.stopping import StopSignal, out_of_time
from kanpde.train.setup import check_against_problem, make_balancer, term_weights

F64 = torch.float64
COMM = distributed.Comm()


def test_history_columns_stay_aligned():
    h: dict = {}
    append_row(h, {"step": 0, "loss": 1.0})
    append_row(h, {"step": 5, "loss": 0.5, "rel_l2": 0.1})  # a key first seen later
    append_row(h, {"step": 10, "rel_l2": 0.05})  # a key missing from a row
    assert h["step"] == [0, 5, 10]
    assert math.isnan(h["rel_l2"][0]) and h["rel_l2"][1:] == [0.1, 0.05]
    assert h["loss"][:2] == [1.0, 0.5] and math.isnan(h["loss"][2])


def test_grid_schedule_events():
    sched = GridSchedule(extend_at=[3, 7], sizes=[8, 10], update_every=4)
    assert [grid_event(sched, s) for s in range(9)] == [
        None, None, None, "extend", "update", None, None, "extend", "update"]
    assert grid_event(GridSchedule(), 0) is None


def test_grid_events_refit_a_kan_and_skip_other_models():
    x = torch.rand(64, 2, generator=torch.Generator().manual_seed(0), dtype=F64) * 2 - 1
    # one layer: its inputs stay inside the grid, and G = 4 -> 8 nests the spline spaces
    kan = ScaledModel(KAN([2, 1], grid_size=4, seed=0, dtype=F64), [-1, -1], [1, 1])
    before = kan(x).detach()
    sched = GridSchedule(extend_at=[2], sizes=[8])
    assert not apply_grid_events(sched, 1, kan, x, COMM)
    assert apply_grid_events(sched, 2, kan, x, COMM) and kan.net.grid_size == 8
    torch.testing.assert_close(kan(x).detach(), before, rtol=1e-10, atol=1e-10)  # preserved
    mlp = MLP([2, 4, 1], seed=0, dtype=F64)
    assert not has_grid(mlp) and not apply_grid_events(sched, 2, mlp, x, COMM)


def test_guard_accepts_finite_steps_and_refuses_the_rest():
    model = MLP([2, 3, 1], seed=0, dtype=F64)
    assert healthy(1.0, None, model, COMM)
    assert healthy(1.0, 1.0, model, COMM)
    assert not healthy(float("nan"), None, model, COMM)
    assert not healthy(float("inf"), None, model, COMM)
    assert not healthy(2 * EXPLODE, 1.0, model, COMM)  # exploding against the first step
    with torch.no_grad():
        model.layers[0].weight[0, 0] = float("nan")
    assert not healthy(1.0, None, model, COMM)


def test_snapshot_restores_model_optimizer_and_balancer():
    problem = Poisson()
    model = MLP([2, 3, 1], seed=0, dtype=F64)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    balancer = make_balancer(problem, TrainConfig(), COMM)
    model(torch.zeros(1, 2, dtype=F64)).sum().backward()
    opt.step()
    snap = Snapshot(model, opt, balancer)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    steps = opt.state_dict()["state"][0]["step"].clone()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    model(torch.zeros(1, 2, dtype=F64)).sum().backward()
    opt.step()
    balancer.lam["residual"] = 7.0
    snap.restore(model, opt, balancer)
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert torch.equal(opt.state_dict()["state"][0]["step"], steps)
    assert balancer.lam["residual"] == 1.0


def test_time_budget_and_stop_signal():
    assert not out_of_time(10.0, 0.0) and not out_of_time(9.9, 10.0) and out_of_time(10, 10)
    before = signal.getsignal(signal.SIGTERM)
    with StopSignal() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested
        assert stop.agree(3.5, COMM) == 3.5  # one process: its own time
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("kind", ["adam", "lbfgs"])
def test_first_order_step_reports_the_loss_before_the_step(kind):
    target = torch.tensor([1.0, -2.0], dtype=F64)
    model = nn.Linear(2, 1, dtype=F64)
    x = torch.eye(2, dtype=F64)

    def loss_fn():
        r = model(x)[:, 0] - target
        return (r**2).mean(), {"residual": (r**2).mean()}, {"residual": r[:, None]}

    start = float(loss_fn()[0].detach())
    opt = (torch.optim.Adam(model.parameters(), lr=0.1) if kind == "adam"
           else torch.optim.LBFGS(model.parameters(), max_iter=5))
    loss, terms, pointwise = first_order_step(opt, kind, loss_fn, model, COMM)
    assert loss == pytest.approx(start) and terms["residual"] == pytest.approx(start)
    assert pointwise["residual"].shape == (2, 1) and not pointwise["residual"].requires_grad
    assert float(loss_fn()[0].detach()) < start


def test_setup_checks_and_weights():
    problem = Poisson()
    model = MLP([2, 3, 1], seed=0, dtype=F64)
    with pytest.raises(ValueError, match="train.loss_weights"):
        check_against_problem(TrainConfig(loss_weights={"walls": 1.0}), problem, model)
    with pytest.raises(ConfigError, match="train.sparsity"):
        check_against_problem(TrainConfig.from_dict({"sparsity": {"l1": 1e-3}}), problem, model)
    gn = TrainConfig.from_dict({"phases": [{"optimizer": "gauss_newton", "varpro": True}]})
    check_against_problem(gn, problem, model)  # Poisson is linear
    with pytest.raises(ConfigError, match=r"train.phases\[0\].varpro"):
        check_against_problem(gn, AllenCahn(), model)
    weights = term_weights(problem, TrainConfig(loss_weights={"boundary": 5.0}))
    assert weights == {"residual": 0.01, "boundary": 5.0}
