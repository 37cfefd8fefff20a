"""The Gauss-Newton solvers: every solver takes the same step (Cholesky, the kernel form,
preconditioned CG on the sparse Jacobian, matrix-free CG), the choice of ``auto`` follows the
sizes and the memory budget, preconditioned CG and its preconditioners solve SPD systems, and
per-step point subsampling draws reproducible subsets and still trains."""

from __future__ import annotations

import pytest
import torch
from kanpde.problems.kovasznay import Kovasznay
from kanpde.problems.poisson import Poisson
from kanpde.problems.poisson_nd import PoissonND

from kanpde.models import KAN, MLP, ScaledModel
from kanpde.pde import make_sampler
from kanpde.train import Trainer
from kanpde.train.config import (
    CausalConfig,
    ConfigError,
    RBAConfig,
    TrainConfig,
    WeightingConfig,
)
from kanpde.train.gauss_newton.krylov import Jacobi, Nystrom, pcg
from kanpde.train.gauss_newton.linearize import linearize
from kanpde.train.gauss_newton.optimizer import GaussNewton
from kanpde.train.gauss_newton.solvers import SolverMemoryError, choose
from kanpde.train.gauss_newton.step import subsample_points
from kanpde.train.weighting import LossBalancer

F64 = torch.float64


def _setup(problem, model, n=40, nb=16):
    pts = {k: v.to(F64) for k, v in problem.sample_points("sobol", n, nb, seed=0).items()}
    bal = LossBalancer(dict(problem.loss_weights), WeightingConfig(), RBAConfig(),
                       CausalConfig(), None, None)
    scales: dict = {}

    def lin(params, mode="tape", engine="jets"):
        out, sc = linearize(problem, model, pts, scales or None, bal.row_scales, params,
                            mode=mode, engine=engine)
        scales.update(sc)
        return out

    return pts, lin


def _step_delta(problem, model, solver, mode="tape", **kw):
    """The parameter change of one Gauss-Newton step with ``solver``."""
    params = list(model.parameters())
    before = [p.detach().clone() for p in params]
    pts, lin = _setup(problem, model)

    def loss():
        with torch.no_grad():
            pw = problem.pointwise(model, pts, engine="jets")
        return sum(float(((pw[t] * bal_scales[t].unsqueeze(1)) ** 2).sum()) for t in pw)

    first = lin(params, mode, "jets" if mode == "tape" else "autograd")
    bal_scales = {t: first._terms[i].scale for i, t in enumerate(first.pointwise)}
    opt = GaussNewton(params, damping=1e-7, solver=solver, **kw)
    # mu = mean(diag(J^T J)) exactly (the matrix-free path estimates it from random probes;
    # the step at small damping depends on it)
    exact_mu = float(_setup(problem, model)[1](params).jacobian().pow(2).sum()) / first.n_params
    opt._diag_mean = lambda _lin: exact_mu
    opt.step(lambda: lin(params, mode, "jets" if mode == "tape" else "autograd"), loss)
    delta = torch.cat([(p.detach() - b).reshape(-1) for p, b in zip(params, before,
                                                                     strict=True)])
    with torch.no_grad():
        for p, b in zip(params, before, strict=True):
            p.copy_(b)
    return delta, opt


@pytest.mark.parametrize("family", ["kan", "mlp"])
def test_every_solver_takes_the_same_step(family):
    problem = Poisson()
    if family == "kan":
        net = KAN([2, 3, 1], grid_size=4, spline_order=3, seed=0, dtype=F64)
    else:
        net = MLP([2, 6, 6, 1], seed=0, dtype=F64)
    model = ScaledModel(net, problem.domain.lo, problem.domain.hi)
    ref, opt = _step_delta(problem, model, "cholesky")
    assert opt.plan.solver == "cholesky" and float(ref.abs().max()) > 1e-6
    for solver, kw in (("kernel", {}), ("pcg", {"cg_max_iter": 2000, "cg_rtol": 1e-14}),
                       ("pcg", {"cg_max_iter": 2000, "cg_rtol": 1e-14,
                                "preconditioner": "jacobi"}),
                       ("pcg", {"cg_max_iter": 2000, "cg_rtol": 1e-14,
                                "preconditioner": "none"}),
                       ("cg", {"cg_max_iter": 2000, "cg_rtol": 1e-14})):
        delta, opt = _step_delta(problem, model, solver, **kw)
        assert opt.plan.solver == solver
        err = float((delta - ref).norm() / ref.norm())
        assert err < 1e-6, (solver, kw, err)


def test_matrix_free_autograd_step_equals_cholesky():
    problem = Poisson()
    model = ScaledModel(KAN([2, 2, 1], grid_size=3, spline_order=3, seed=0, dtype=F64),
                        problem.domain.lo, problem.domain.hi)
    ref, _ = _step_delta(problem, model, "cholesky")
    delta, opt = _step_delta(problem, model, "auto", mode="autograd", cg_max_iter=2000,
                             cg_rtol=1e-14)
    assert opt.plan.solver == "cg" and "autograd" in opt.plan.reason
    assert float((delta - ref).norm() / ref.norm()) < 1e-6


class _Lin:
    def __init__(self, r, p, mode="tape", sparse_bytes=0):
        self.n_rows, self.n_params, self.mode = r, p, mode
        self._sparse = sparse_bytes

    def jacobian_nbytes(self, sparse):
        return self._sparse if sparse else 8 * self.n_rows * self.n_params


GB = 1024**3


def test_auto_follows_sizes_and_memory():
    def pick(r, p, mode="tape", sparse=1, mem=8 * GB, dist=False):
        return choose("auto", _Lin(r, p, mode, sparse), dense_max_params=5000,
                      memory_bytes=mem, distributed=dist).solver

    assert pick(10_000, 1_400) == "cholesky"
    assert pick(2_000, 50_000) == "kernel"
    assert pick(2_000, 50_000, dist=True) == "cg"
    assert pick(10_000, 50_000) == "cg"
    assert pick(2_000, 1_400, mem=GB // 100) == "cg"  # neither dense form fits 10 MB
    assert pick(10_000, 1_400, mode="autograd") == "cg"
    assert pick(2_000, 1_400, mode="func") == "cholesky"  # torch.func's stored J
    assert pick(2_000, 10_000, mode="func") == "kernel"


def test_a_solver_that_cannot_fit_names_the_setting():
    with pytest.raises(SolverMemoryError, match="memory_gb"):
        choose("cholesky", _Lin(10_000, 100_000), dense_max_params=5000,
               memory_bytes=8 * GB, distributed=False)
    with pytest.raises(ValueError, match="explicit Jacobian"):
        choose("cholesky", _Lin(10, 10, mode="autograd"), dense_max_params=5000,
               memory_bytes=GB, distributed=False)
    for mode in ("autograd", "func"):
        with pytest.raises(ValueError, match="sparse Jacobian of the layer tape"):
            choose("pcg", _Lin(10, 10, mode=mode), dense_max_params=5000,
                   memory_bytes=GB, distributed=False)
    with pytest.raises(ValueError, match="data-parallel"):
        choose("kernel", _Lin(10, 100), dense_max_params=5000, memory_bytes=GB,
               distributed=True)


def _spd(n=300, decay=1e-10, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=F64))
    ev = torch.logspace(0, torch.log10(torch.tensor(decay)).item(), n, dtype=F64)
    return (q * ev) @ q.T


def test_pcg_solves_and_the_nystrom_preconditioner_saves_iterations():
    h = _spd()
    rho = 1e-4
    a = h + rho * torch.eye(h.shape[0], dtype=F64)
    b = torch.randn(h.shape[0], generator=torch.Generator().manual_seed(1), dtype=F64)
    exact = torch.linalg.solve(a, b)
    plain, it_plain = pcg(lambda v: a @ v, b, None, 5000, 1e-12)
    nys = Nystrom(lambda v: h @ v, h.shape[0], 80, b)(rho)
    pre, it_pre = pcg(lambda v: a @ v, b, nys, 5000, 1e-12)
    jac, _ = pcg(lambda v: a @ v, b, Jacobi(h.diagonal())(rho), 5000, 1e-12)
    for x in (plain, pre, jac):
        assert float((x - exact).norm() / exact.norm()) < 1e-8
    assert it_pre * 3 < it_plain


def test_subsample_points_is_a_reproducible_proportional_subset():
    pts = {"residual": torch.rand(1000, 2), "boundary": torch.rand(200, 2)}
    a = subsample_points(pts, 100, seed=3)
    b = subsample_points(pts, 100, seed=3)
    c = subsample_points(pts, 100, seed=4)
    assert a["residual"].shape == (100, 2) and a["boundary"].shape == (20, 2)
    assert all(torch.equal(a[t], b[t]) for t in pts)
    assert not torch.equal(a["residual"], c["residual"])
    rows = {tuple(r) for r in pts["residual"].tolist()}
    assert all(tuple(r) in rows for r in a["residual"].tolist())
    assert subsample_points(pts, 5000, seed=0) is pts


def _train(problem, widths, phase, steps=12, n=300, nb=80):
    model = ScaledModel(KAN(widths, grid_size=5, spline_order=3, seed=0),
                        problem.domain.lo, problem.domain.hi)
    cfg = TrainConfig.from_dict({
        "phases": [{"optimizer": "gauss_newton", "steps": steps, **phase}],
        "n_interior": n, "n_boundary": nb, "eval_every": steps, "checkpoint_every": 10**9,
        "progress": False})
    return Trainer(problem, model, make_sampler("sobol"), cfg, seed=0, dtype=F64).fit()


def test_kernel_solver_with_subsampling_trains():
    """A fresh subset of 50 of 300 points per step, so R < P: the kernel form trains (the
    untrained KAN is off by about 100%)."""
    problem = Poisson(variant="sinsin")
    res = _train(problem, [2, 3, 1], {"subsample": 50, "solver": "kernel"})
    assert res.status == "completed"
    assert res.final["rel_l2"] < 0.15, res.final["rel_l2"]  # all points: 0.081


def test_auto_takes_the_kernel_form_on_a_subsample_in_3d():
    res = _train(PoissonND(3), [3, 4, 1], {"subsample": 60, "dense_max_params": 100},
                 steps=3)
    assert res.status == "completed"


def test_pcg_trains_like_cholesky():
    problem = Poisson(variant="sinsin")
    ref = _train(problem, [2, 3, 1], {"solver": "cholesky"}).final["rel_l2"]
    got = _train(problem, [2, 3, 1], {"solver": "pcg", "cg_max_iter": 300}).final["rel_l2"]
    assert ref < 0.1 and got < 1.5 * ref


def test_kovasznay_sparse_jacobian_has_three_components():
    problem = Kovasznay()
    model = ScaledModel(KAN([2, 3, 3], grid_size=3, spline_order=3, seed=0, dtype=F64),
                        problem.domain.lo, problem.domain.hi)
    _, lin = _setup(problem, model, n=12, nb=8)
    out = lin(list(model.parameters()))
    jac = out.jacobian()
    sparse = out.sparse_jacobian()
    assert float((sparse.to_dense() - jac).abs().max()) <= 1e-13 * float(jac.abs().max())
    assert out.jacobian_nbytes(sparse=True) == sparse.nbytes


@pytest.mark.parametrize(("key", "value", "match"), [
    ("preconditioner", "ilu", "preconditioner"),
    ("cg_rtol", 1.5, "cg_rtol"),
    ("memory_gb", 0, "memory_gb"),
    ("subsample", -1, "subsample"),
    ("nystrom_rank", 0, "nystrom_rank"),
    ("solver", "lsqr", "solver"),
])
def test_bad_solver_settings_are_refused(key, value, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig.from_dict({"phases": [{"optimizer": "gauss_newton", key: value}]})


def test_subsample_with_point_weights_is_refused():
    with pytest.raises(ConfigError, match="subsample"):
        TrainConfig.from_dict({"phases": [{"optimizer": "gauss_newton", "subsample": 10}],
                               "rba": {"enabled": True}})
