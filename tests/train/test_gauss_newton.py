"""Levenberg-Marquardt steps: exact on linear least squares, never uphill, the same step by
Cholesky and by conjugate gradients, variable projection, and the trainer's phase."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from kanpde.problems.allen_cahn import AllenCahn
from kanpde.problems.heat import Heat
from kanpde.problems.poisson import Poisson
from torch import nn

from kanpde.models import KAN, MLP, Jet, ScaledModel
from kanpde.pde import make_sampler
from kanpde.train import Trainer
from kanpde.train.config import CausalConfig, ConfigError, RBAConfig, TrainConfig, WeightingConfig
from kanpde.train.gauss_newton.linearize import linearize
from kanpde.train.gauss_newton.optimizer import GaussNewton, conjugate_gradient
from kanpde.train.weighting import LossBalancer

F64 = torch.float64


class Fit(Poisson):
    """Regression of ``u* = 1 + 2 x - 3 y``: ``r = u - u*`` at the interior points (order 0).
    A linear model ``u = W x + b`` is linear in ``(W, b)`` and fits it exactly."""

    residual_order = 0

    def residual(self, u):
        return u.value - (1.0 + 2.0 * u.x("x") - 3.0 * u.x("y"))


def _closures(problem, model, points, opt):
    bal = LossBalancer(dict(problem.loss_weights), WeightingConfig(), RBAConfig(),
                       CausalConfig(), None, None)
    scales: dict = {}

    def lin():
        out, sc = linearize(problem, model, points, scales or None, bal.row_scales, opt.params)
        scales.update(sc)
        return out

    def loss():
        with torch.no_grad():
            pw = problem.pointwise(model, points, engine="jets")
        return sum(float(((pw[t].detach() * scales[t].unsqueeze(1)) ** 2).sum()) for t in pw)

    return lin, loss


def _points(problem, n=64, nb=32, seed=0):
    return problem.sample_points("sobol", n, nb, seed=seed)


def test_one_undamped_step_solves_linear_least_squares():
    """u = W x + b is linear in (W, b): one Gauss-Newton step without damping lands on the
    least-squares solution, here the exact fit W = (2, -3), b = 1 (loss 0)."""
    problem = Fit()
    model = MLP([2, 1], seed=0, dtype=F64)
    points = {"residual": _points(problem)["residual"]}
    opt = GaussNewton(list(model.parameters()), damping=0.0, solver="cholesky")
    lin, loss = _closures(problem, model, points, opt)
    before = opt.step(lin, loss)
    layer = model.layers[0]
    torch.testing.assert_close(layer.weight.detach(), torch.tensor([[2.0, -3.0]], dtype=F64),
                               rtol=0, atol=1e-13)
    torch.testing.assert_close(layer.bias.detach(), torch.tensor([1.0], dtype=F64),
                               rtol=0, atol=1e-13)
    assert before > 1e-2 and loss() < 1e-26
    assert opt.last["alpha"] == 1.0 and opt.last["gain"] == pytest.approx(1.0, rel=1e-8)
    # at the minimum no step decreases the loss: the parameters stay where they are
    state = [p.detach().clone() for p in model.parameters()]
    opt.step(lin, loss)
    for p, b in zip(model.parameters(), state, strict=True):
        torch.testing.assert_close(p.detach(), b, rtol=0, atol=1e-13)


def test_steps_never_increase_the_loss_and_converge():
    problem = Poisson()
    model = ScaledModel(KAN([2, 4, 1], grid_size=5, seed=0, dtype=F64), [-1, -1], [1, 1])
    points = _points(problem, 200, 80)
    opt = GaussNewton(list(model.parameters()))
    lin, loss = _closures(problem, model, points, opt)
    losses = [opt.step(lin, loss) for _ in range(25)]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(losses, losses[1:], strict=False))
    assert losses[-1] < 1e-3 * losses[0]


def test_cholesky_and_conjugate_gradients_take_the_same_step(monkeypatch):
    """The same damped system solved two ways gives the same step. (CG estimates the damping
    scale mean(diag(J^T J)) from random probes; here it is given the exact one.)"""
    problem = Heat()
    points = _points(problem, 80, 40)
    states = {}
    exact: dict[str, float] = {}

    def exact_scale(self, lin):
        jac = lin.jacobian()
        exact["mu"] = float((jac**2).sum(dim=0).mean())
        return exact["mu"]

    for solver in ("cholesky", "cg"):
        model = ScaledModel(KAN([2, 3, 1], grid_size=4, seed=1, dtype=F64), [0, 0], [1, 1])
        opt = GaussNewton(list(model.parameters()), damping=1e-2, solver=solver,
                          cg_max_iter=5000)
        if solver == "cg":
            monkeypatch.setattr(GaussNewton, "_diag_mean", exact_scale)
        lin, loss = _closures(problem, model, points, opt)
        opt.step(lin, loss)
        states[solver] = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    assert exact["mu"] > 0
    torch.testing.assert_close(states["cg"], states["cholesky"], rtol=1e-7, atol=1e-9)


def test_conjugate_gradient_solves_a_spd_system():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(30, 30, generator=g, dtype=F64)
    a = a @ a.T + 0.1 * torch.eye(30, dtype=F64)
    b = torch.randn(30, generator=g, dtype=F64)
    x = conjugate_gradient(lambda v: a @ v, b, 200, rtol=1e-13)
    torch.testing.assert_close(a @ x, b, rtol=1e-10, atol=1e-10)


def test_variable_projection_makes_the_output_block_optimal():
    """After the projection the gradient with respect to the output layer's linear
    coefficients (base weights and spline coefficients) vanishes: they solve their linear
    least-squares problem exactly."""
    problem = Poisson()
    model = ScaledModel(KAN([2, 3, 1], grid_size=4, seed=0, dtype=F64), [-1, -1], [1, 1])
    points = _points(problem, 120, 60)
    opt = GaussNewton(list(model.parameters()), varpro=True, max_iter=1)
    lin, loss = _closures(problem, model, points, opt)
    out = model.net.layers[-1]
    first = lin()
    opt._project(first, [out.base_weight, out.spline_coef])
    after = lin()
    grad = after.vjp(after.rho)
    cols = []
    off = 0
    for p in opt.params:
        if p is out.base_weight or p is out.spline_coef:
            cols.append(grad[off : off + p.numel()])
        off += p.numel()
    block = torch.cat(cols)
    assert float(block.abs().max()) < 1e-9 * float(grad.abs().max() + first.vjp(first.rho)
                                                   .abs().max())
    assert after.loss < first.loss


def test_state_dict_roundtrip_and_bad_solver():
    opt = GaussNewton([nn.Parameter(torch.zeros(3))], lr=0.5, damping=0.1)
    opt.damping, opt.nu = 3.0, 8.0
    other = GaussNewton([nn.Parameter(torch.zeros(3))])
    other.load_state_dict(opt.state_dict())
    assert (other.damping, other.nu, other.param_groups[0]["lr"]) == (3.0, 8.0, 0.5)
    with pytest.raises(ValueError, match="allowed values"):
        GaussNewton([nn.Parameter(torch.zeros(3))], solver="qr")


# ------------------------------------------------------------------ the trainer phase
def _train(problem, model, phases, engine="auto", **kw):
    cfg = TrainConfig.from_dict({"phases": phases, "n_interior": kw.pop("n_interior", 256),
                                 "n_boundary": 64, "eval_every": 2, "progress": False, **kw})
    trainer = Trainer(problem, model, make_sampler("sobol"), cfg, seed=0, engine=engine)
    return trainer.fit()


def test_trainer_phase_reaches_a_small_loss_and_stores_finite_losses():
    problem = Poisson()
    model = ScaledModel(KAN([2, 4, 1], grid_size=4, seed=0, dtype=F64), [-1, -1], [1, 1])
    res = _train(problem, model, [{"optimizer": "gauss_newton", "steps": 12}],
                 grid={"extend_at": [6], "sizes": [8]})
    h = res.history
    assert res.status == "completed" and res.steps == 12
    assert np.isfinite(h["loss"]).all() and np.isfinite(h["loss_residual"]).all()
    assert h["loss"][0] > 0 and h["lr"][0] == 1.0
    assert h["loss"][-1] < 1e-2 * h["loss"][0]
    assert res.final["rel_l2"] < 0.1
    assert set(h["grid_size"]) == {4, 8}


def test_every_stored_loss_is_finite_for_first_order_phases_too():
    problem = Heat()
    model = ScaledModel(MLP([2, 6, 1], seed=0, dtype=F64), [0, 0], [1, 1])
    res = _train(problem, model, [{"optimizer": "adam", "steps": 4, "lr": 1e-3}])
    assert np.isfinite(res.history["loss"]).all()
    for t in problem.terms:
        assert np.isfinite(res.history[f"loss_{t}"]).all()


class _Scaled(nn.Module):
    """A model with a parameter outside the layers the tape records (a learnable factor)."""

    def __init__(self):
        super().__init__()
        self.inner = MLP([2, 6, 1], seed=0, dtype=F64)
        self.factor = nn.Parameter(torch.tensor(0.7, dtype=F64))

    def forward(self, x):
        return self.inner(x) * self.factor

    def forward_jet(self, jet):
        return self.inner.forward_jet(jet).scale(self.factor)


def test_parameters_outside_the_tape_get_columns_by_autograd(caplog):
    problem = Heat()
    with caplog.at_level(logging.INFO, logger="kanpde.train"):
        res = _train(problem, _Scaled(), [{"optimizer": "gauss_newton", "steps": 15}])
    assert "Jacobian from the layer tape" in caplog.text and "matrix-free" not in caplog.text
    assert res.history["loss"][-1] < 0.1 * res.history["loss"][0]


@pytest.mark.parametrize("engine", ["autograd", "func"])
def test_the_autograd_engine_takes_the_torch_func_jacobian(caplog, engine):
    """Without the tape, Gauss-Newton forms ``J`` by torch.func and solves it as the jets
    path does (Cholesky here): the same accuracy in the same steps as the tape."""
    problem = Poisson()
    results = {}
    for name, eng in (("tape", "jets"), (engine, engine)):
        model = ScaledModel(KAN([2, 4, 1], grid_size=5, seed=0, dtype=F64), [-1, -1], [1, 1])
        with caplog.at_level(logging.INFO, logger="kanpde.train"):
            caplog.clear()
            results[name] = _train(problem, model, [{"optimizer": "gauss_newton", "steps": 12}],
                                   engine=eng)
        if name != "tape":
            assert "explicit Jacobian by torch.func" in caplog.text
            assert "matrix-free" not in caplog.text and "solver: cholesky" in caplog.text
    tape, func = results["tape"].history["loss"], results[engine].history["loss"]
    np.testing.assert_allclose(func, tape, rtol=1e-6)
    assert results[engine].final["rel_l2"] == pytest.approx(results["tape"].final["rel_l2"],
                                                            rel=1e-5)
    assert results[engine].final["rel_l2"] < 0.1 * results[engine].history["rel_l2"][0]


class _Opaque(nn.Module):
    """A model torch.func cannot transform (a Python float read from a tensor)."""

    def __init__(self):
        super().__init__()
        self.inner = MLP([2, 6, 1], seed=0, dtype=F64)

    def forward(self, x):
        return self.inner(x) * (1.0 + 0.0 * float(x.detach().sum()))


def test_a_model_torch_func_cannot_take_trains_matrix_free(caplog):
    problem = Heat()
    with caplog.at_level(logging.INFO, logger="kanpde.train"):
        res = _train(problem, _Opaque(), [{"optimizer": "gauss_newton", "steps": 15}],
                     engine="autograd")
    assert "matrix-free Jacobian products by autograd" in caplog.text
    assert "under torch.func" in caplog.text
    assert res.history["loss"][-1] < 0.1 * res.history["loss"][0]


def test_a_jacobian_above_memory_gb_trains_matrix_free(caplog):
    problem = Heat()
    model = ScaledModel(MLP([2, 6, 1], seed=0, dtype=F64), [0, 0], [1, 1])
    with caplog.at_level(logging.INFO, logger="kanpde.train"):
        res = _train(problem, model, [{"optimizer": "gauss_newton", "steps": 15,
                                       "memory_gb": 1e-6}], engine="autograd")
    assert "matrix-free" in caplog.text and "memory budget" in caplog.text
    assert res.history["loss"][-1] < 0.1 * res.history["loss"][0]


@pytest.mark.parametrize(("phase", "extra", "key"), [
    ({"solver": "qr"}, {}, "solver"),
    ({"damping": -1.0}, {}, "damping"),
    ({"lr": 2.0}, {}, "lr"),
    ({"cg_max_iter": 0}, {}, "cg_max_iter"),
    ({"varpro": "yes"}, {}, "varpro"),
    ({}, {"sparsity": {"l1": 1e-3}}, "sparsity"),
])
def test_bad_gauss_newton_settings_are_config_errors(phase, extra, key):
    with pytest.raises(ConfigError, match=key):
        TrainConfig.from_dict({"phases": [{"optimizer": "gauss_newton", **phase}], **extra})


def test_variable_projection_needs_a_linear_problem():
    problem = AllenCahn()
    model = ScaledModel(KAN([2, 3, 1], grid_size=4, seed=0, dtype=F64), [-1, 0], [1, 1])
    cfg = TrainConfig.from_dict({"phases": [{"optimizer": "gauss_newton", "varpro": True}]})
    with pytest.raises(ConfigError, match="varpro"):
        Trainer(problem, model, make_sampler("sobol"), cfg)


def test_variable_projection_trains_a_linear_problem():
    problem = Poisson()
    model = ScaledModel(KAN([2, 4, 1], grid_size=4, spline_order=3, seed=0, dtype=F64),
                        [-1, -1], [1, 1])
    res = _train(problem, model, [{"optimizer": "gauss_newton", "steps": 8, "varpro": True}])
    assert res.history["loss"][-1] < 0.1 * res.history["loss"][0]


def test_scale_of_a_jet_is_recorded_nowhere():
    """The fallback test above relies on Jet.scale being outside the tape."""
    jet = Jet.seed(torch.zeros(3, 2, dtype=F64))
    assert jet.scale(2.0).value.shape == (3, 2)


@pytest.mark.parametrize("case", ["hard_constraint", "periodic_embedding", "rba_causal"])
def test_trainer_phase_with_wrappers_and_point_weights(case):
    """Gauss-Newton through an exact output transform, a periodic embedding, and RBA with
    causal weights (row factors of the residual vector): each run learns."""
    from kanpde.app import assemble_model

    extra: dict = {}
    if case == "hard_constraint":
        problem, cfg = Heat(), {"hard_constraint": True}
        extra["loss_weights"] = {t: 0.0 for t in problem.constrained_terms}
    elif case == "periodic_embedding":
        problem, cfg = AllenCahn(), {"embedding": {"periodic": True}}
        extra["loss_weights"] = {"periodic": 0.0}
    else:
        problem, cfg = Heat(), {}
        extra.update(rba={"enabled": True}, causal={"enabled": True, "n_slabs": 4})
    node = {"_target_": "kanpde.models.KAN", "widths": [problem.dim_in, 4, 1], "grid_size": 4,
            "spline_order": 5}
    model = assemble_model({"seed": 0, "model": node, **cfg}, problem)
    res = _train(problem, model, [{"optimizer": "gauss_newton", "steps": 10}], **extra)
    assert res.status == "completed"
    assert np.isfinite(res.history["loss"]).all()
    assert res.history["loss"][-1] < 0.1 * res.history["loss"][0]


def test_a_torch_func_jacobian_that_outgrows_memory_gb_goes_matrix_free(caplog):
    """``J`` fits at the first grid and not after its extension: the step falls back to
    matrix-free products (logged) and training goes on."""
    problem = Poisson()
    model = ScaledModel(KAN([2, 4, 1], grid_size=4, seed=0, dtype=F64), [-1, -1], [1, 1])
    with caplog.at_level(logging.INFO, logger="kanpde.train"):
        res = _train(problem, model, [{"optimizer": "gauss_newton", "steps": 8,
                                       "memory_gb": 4e-4}], engine="autograd",
                     grid={"extend_at": [4], "sizes": [12]})
    assert "explicit Jacobian by torch.func" in caplog.text
    assert "matrix-free Jacobian products by autograd" in caplog.text
    assert res.status == "completed" and res.history["loss"][-1] < res.history["loss"][0]


def test_float32_models_take_the_layer_tape(caplog):
    """The tape's check tolerance follows the dtype: a float32 model keeps its Jacobian."""
    problem = Poisson()
    model = ScaledModel(KAN([2, 4, 1], grid_size=4, seed=0, dtype=torch.float32), [-1, -1],
                        [1, 1])
    with caplog.at_level(logging.INFO, logger="kanpde.train"):
        trainer = Trainer(problem, model, make_sampler("sobol"), TrainConfig.from_dict(
            {"phases": [{"optimizer": "gauss_newton", "steps": 3}], "n_interior": 256,
             "n_boundary": 64, "eval_every": 3, "progress": False}), seed=0,
            dtype=torch.float32)
        trainer.fit()
    assert "Jacobian from the layer tape" in caplog.text
