"""The Gauss-Newton residual vector and its Jacobian, for every problem and model family.

``rho = (s_t[i] r_t[i, k])`` must reproduce the trainer's weighted loss (``||rho||^2``) with
RBA and causal weights, and ``J = d rho / d theta`` from the layer tape must equal autograd's
row-by-row gradient to 1e-10 (float64) on every benchmark problem and variant (periodic
conditions evaluate point pairs, hard constraints transform the jet, embeddings widen the
input). The explicit ``J`` by torch.func must equal it too, and the matrix-free products
(tape tangents, the autograd double-backward mode) must equal products with the explicit
``J``.
"""

from __future__ import annotations

import pytest
import torch
from kanpde.problems.allen_cahn import AllenCahn
from kanpde.problems.darcy import Darcy
from kanpde.problems.heat import Heat
from kanpde.problems.poisson import Poisson

from kanpde.app import assemble_model
from kanpde.pde.observations import generate_observations
from kanpde.train.config import CausalConfig, RBAConfig, WeightingConfig
from kanpde.train.gauss_newton.linearize import FuncUnsupported, TapeUnsupported, linearize
from kanpde.train.weighting import LossBalancer

F64 = torch.float64

PROBLEMS = {
    "poisson": lambda: Poisson(),
    "poisson_sinsin": lambda: Poisson(variant="sinsin"),
    "darcy": lambda: Darcy(),
    "darcy_random_field": lambda: Darcy(variant="random_field"),
    "heat": lambda: Heat(),
    "heat_2d": lambda: Heat(variant="diffusion2d"),
    "allen_cahn": lambda: AllenCahn(),
    "allen_cahn_dirichlet": lambda: AllenCahn(variant="dirichlet"),
}
MODELS = {
    "kan": {"_target_": "kanpde.models.KAN", "widths": [0, 3, 1], "grid_size": 4},
    "kan_quintic": {"_target_": "kanpde.models.KAN", "widths": [0, 2, 1], "grid_size": 3,
                    "spline_order": 5},
    "mlp": {"_target_": "kanpde.models.MLP", "widths": [0, 5, 5, 1]},
    "siren": {"_target_": "kanpde.models.SIREN", "widths": [0, 5, 1], "omega_0": 2.0},
    "fourier_mlp": {"_target_": "kanpde.models.FourierMLP", "widths": [0, 5, 1],
                    "n_features": 3},
}


def _model(problem, family, **cfg):
    node = dict(MODELS[family])
    node["widths"] = [problem.dim_in, *node["widths"][1:]]
    full = {"seed": 0, "model": node, **cfg}
    return assemble_model(full, problem).to(F64)


def _balancer(problem, rba=False, causal=False):
    t_name = getattr(problem.domain, "time_name", None)
    axis = list(problem.names).index(t_name) if t_name else None
    rng = None if axis is None else (float(problem.domain.lo[axis]),
                                     float(problem.domain.hi[axis]))
    return LossBalancer(
        {t: float(problem.loss_weights[t]) for t in problem.terms}, WeightingConfig(),
        RBAConfig(enabled=rba), CausalConfig(enabled=causal, n_slabs=3), axis, rng,
    )


def _points(problem, n=10, nb=8, seed=0):
    pts = problem.sample_points("sobol", n, nb, seed=seed)
    return {k: v.to(F64) for k, v in pts.items()}


def _autograd_rows(problem, model, points, scales, params):
    rows, rho = [], []
    for term, x in points.items():
        r = problem.pointwise(model, {term: x}, engine="autograd")[term]
        flat = (r * scales[term].unsqueeze(1)).reshape(-1)
        rho.append(flat.detach())
        for i in range(flat.shape[0]):
            g = torch.autograd.grad(flat[i], params, retain_graph=True, allow_unused=True)
            rows.append(torch.cat([torch.zeros(p.numel(), dtype=F64) if gi is None
                                   else gi.reshape(-1) for gi, p in zip(g, params, strict=True)]))
    return torch.cat(rho), torch.stack(rows)


CASES = [(p, m) for p in PROBLEMS for m in ("kan", "mlp")] + [
    ("poisson", "kan_quintic"), ("heat", "siren"), ("darcy", "fourier_mlp"),
    ("allen_cahn", "kan_quintic"),
]


def _check_sparse(lin, jac):
    """The sparse Jacobian holds the same ``J`` (and its products), in the bytes predicted."""
    sparse = lin.sparse_jacobian()
    assert lin.jacobian_nbytes(sparse=True) == sparse.nbytes
    assert lin.jacobian_nbytes(sparse=False) == 8 * lin.n_rows * lin.n_params
    scale = float(jac.abs().max())
    assert float((sparse.to_dense() - jac).abs().max()) <= 1e-13 * scale
    u = torch.randn(lin.n_rows, 3, generator=torch.Generator().manual_seed(3), dtype=F64)
    torch.testing.assert_close(sparse.rmm(u), jac.T @ u, rtol=1e-12, atol=1e-13 * scale)


@pytest.mark.parametrize(("prob", "family"), CASES)
def test_tape_jacobian_equals_autograd_on_every_problem(prob, family):
    problem = PROBLEMS[prob]()
    model = _model(problem, family)
    params = list(model.parameters())
    points = _points(problem)
    bal = _balancer(problem)
    lin, scales = linearize(problem, model, points, None, bal.row_scales, params)
    rho_ref, jac_ref = _autograd_rows(problem, model, points, scales, params)
    torch.testing.assert_close(lin.rho, rho_ref, rtol=1e-12, atol=1e-14)
    jac = lin.jacobian()
    scale = float(jac_ref.abs().max())
    assert scale > 0
    assert float((jac - jac_ref).abs().max()) <= 1e-10 * scale
    g = torch.Generator().manual_seed(1)
    v = torch.randn(lin.n_params, generator=g, dtype=F64)
    u = torch.randn(lin.n_rows, generator=g, dtype=F64)
    torch.testing.assert_close(lin.jvp(v), jac @ v, rtol=1e-10, atol=1e-12 * scale)
    torch.testing.assert_close(lin.vjp(u), jac.T @ u, rtol=1e-10, atol=1e-12 * scale)
    _check_sparse(lin, jac)


@pytest.mark.parametrize(("prob", "family"), CASES)
def test_func_jacobian_equals_autograd_on_every_problem(prob, family):
    problem = PROBLEMS[prob]()
    model = _model(problem, family)
    params = list(model.parameters())
    points = _points(problem)
    lin, scales = linearize(problem, model, points, None, _balancer(problem).row_scales,
                            params, mode="func")
    assert lin.mode == "func"
    rho_ref, jac_ref = _autograd_rows(problem, model, points, scales, params)
    torch.testing.assert_close(lin.rho, rho_ref, rtol=1e-12, atol=1e-14)
    jac = lin.jacobian()
    scale = float(jac_ref.abs().max())
    assert float((jac - jac_ref).abs().max()) <= 1e-10 * scale
    u = torch.randn(lin.n_rows, generator=torch.Generator().manual_seed(1), dtype=F64)
    torch.testing.assert_close(lin.vjp(u), lin.vjp_backward(u), rtol=1e-10,
                               atol=1e-12 * scale)
    out = torch.full_like(jac, 7.0)
    assert torch.equal(lin.jacobian(out=out), jac)


def test_func_jacobian_refuses_what_it_cannot_transform():
    class Opaque(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(2, 1, dtype=F64))

        def forward(self, x):
            return x @ self.w * float(x.detach().sum() * 0 + 1)

    problem = Poisson()
    model = Opaque()
    with pytest.raises(FuncUnsupported, match="under torch.func"):
        linearize(problem, model, _points(problem), None, _balancer(problem).row_scales,
                  list(model.parameters()), mode="func")
    kan = _model(problem, "kan")
    with pytest.raises(FuncUnsupported, match="memory budget"):
        linearize(problem, kan, _points(problem), None, _balancer(problem).row_scales,
                  list(kan.parameters()), mode="func", max_bytes=1000)


@pytest.mark.parametrize("case", ["hard_constraint", "periodic_embedding"])
def test_wrappers_linearize_like_autograd(case):
    if case == "hard_constraint":
        problem = Heat()
        model = _model(problem, "kan", hard_constraint=True)
    else:
        problem = AllenCahn()
        model = _model(problem, "kan", embedding={"periodic": True})
    params = list(model.parameters())
    points = _points(problem)
    lin, scales = linearize(problem, model, points, None, _balancer(problem).row_scales, params)
    _, jac_ref = _autograd_rows(problem, model, points, scales, params)
    jac = lin.jacobian()
    assert float((jac - jac_ref).abs().max()) <= 1e-10 * float(jac_ref.abs().max())
    _check_sparse(lin, jac)
    func, _ = linearize(problem, model, points, scales, None, params, mode="func")
    assert float((func.jacobian() - jac_ref).abs().max()) <= 1e-10 * float(jac_ref.abs().max())


INVERSE = {
    "heat": (lambda: Heat(), {"diffusion": 0.5}),
    "allen_cahn": (lambda: AllenCahn(variant="dirichlet"), {"reaction": 3.0, "diffusion": 0.01}),
    "darcy_constant": (lambda: Darcy(variant="constant"), {"permeability": 1.0}),
}


@pytest.mark.parametrize("prob", list(INVERSE))
@pytest.mark.parametrize("family", ["kan", "mlp"])
def test_learned_coefficients_and_data_linearize_like_autograd(prob, family):
    """Columns of the learned coefficients (outside the tape's layers) and the data term's
    rows, against autograd's row-by-row gradient."""
    make, initial = INVERSE[prob]
    problem = make()
    problem.add_observations(generate_observations(problem, 12, noise=0.01, seed=0))
    coefs = problem.learn(initial)
    model = _model(problem, family)
    params = list(model.parameters()) + list(coefs.parameters())
    points = _points(problem)
    assert points["data"].shape == (12, problem.dim_in + 1)
    lin, scales = linearize(problem, model, points, None, _balancer(problem).row_scales, params)
    rho_ref, jac_ref = _autograd_rows(problem, model, points, scales, params)
    torch.testing.assert_close(lin.rho, rho_ref, rtol=1e-12, atol=1e-14)
    jac = lin.jacobian()
    n_coef = len(initial)
    assert float(jac_ref[:, -n_coef:].abs().max()) > 1e-3  # the residual depends on them
    assert float((jac - jac_ref).abs().max()) <= 1e-10 * float(jac_ref.abs().max())
    v = torch.randn(lin.n_params, generator=torch.Generator().manual_seed(2), dtype=F64)
    torch.testing.assert_close(lin.jvp(v), jac @ v, rtol=1e-10, atol=1e-12)
    _check_sparse(lin, jac)
    func, _ = linearize(problem, model, points, scales, None, params, mode="func")
    assert float((func.jacobian() - jac_ref).abs().max()) <= 1e-10 * float(jac_ref.abs().max())


@pytest.mark.parametrize(("rba", "causal"), [(False, False), (True, False), (False, True),
                                             (True, True)])
def test_row_scales_reproduce_the_weighted_loss(rba, causal):
    problem = Heat()
    model = _model(problem, "mlp")
    points = _points(problem, n=24)
    bal = _balancer(problem, rba=rba, causal=causal)
    pw = problem.pointwise(model, points)
    if rba:  # non-trivial attention weights
        bal.after_step(pw, points["residual"])
        bal.after_step(problem.pointwise(model, points), points["residual"])
    losses = bal.term_losses({t: r.detach() for t, r in pw.items()}, points["residual"])
    weighted = sum(bal.weights()[t] * float(v) for t, v in losses.items())
    lin, _ = linearize(problem, model, points, None, bal.row_scales, list(model.parameters()))
    assert lin.loss == pytest.approx(weighted, rel=1e-12)


def test_fixed_scales_are_used_as_given():
    problem = Poisson()
    model = _model(problem, "kan")
    points = _points(problem)
    scales = {t: torch.full((x.shape[0],), 2.0, dtype=F64) for t, x in points.items()}
    lin, out = linearize(problem, model, points, scales, None, list(model.parameters()))
    assert out is not scales and all(torch.equal(out[t], scales[t]) for t in scales)
    pw = problem.pointwise(model, points)
    assert lin.loss == pytest.approx(sum(float((4 * r.detach()**2).sum()) for r in pw.values()),
                                     rel=1e-13)


def test_autograd_mode_products_equal_the_tape_jacobian():
    problem = Heat()
    model = _model(problem, "kan")
    params = list(model.parameters())
    points = _points(problem)
    bal = _balancer(problem)
    tape, scales = linearize(problem, model, points, None, bal.row_scales, params)
    auto, _ = linearize(problem, model, points, scales, bal.row_scales, params,
                        mode="autograd", engine="autograd")
    jac = tape.jacobian()
    g = torch.Generator().manual_seed(3)
    v = torch.randn(tape.n_params, generator=g, dtype=F64)
    u = torch.randn(tape.n_rows, generator=g, dtype=F64)
    torch.testing.assert_close(auto.rho, tape.rho, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(auto.jvp(v), jac @ v, rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(auto.vjp(u), jac.T @ u, rtol=1e-9, atol=1e-11)
    with pytest.raises(TapeUnsupported, match="tape or func mode"):
        auto.jacobian()


def test_nested_autograd_is_refused_by_the_tape():
    problem = Poisson()
    model = _model(problem, "kan")
    with pytest.raises(TapeUnsupported, match="engine 'autograd'"):
        linearize(problem, model, _points(problem), None, _balancer(problem).row_scales,
                  list(model.parameters()), engine="autograd")


def test_an_undeclared_mixed_derivative_is_refused_by_the_tape():
    class Mixed(Poisson):
        def residual(self, u):
            return u.d2("x", "y")  # not in mixed_derivatives: autograd of the jet

    problem = Mixed()
    model = _model(problem, "kan")
    with pytest.raises(TapeUnsupported, match="mixed_derivatives"):
        linearize(problem, model, _points(problem), None, _balancer(problem).row_scales,
                  list(model.parameters()))


def test_bad_mode_is_refused():
    problem = Poisson()
    model = _model(problem, "kan")
    with pytest.raises(ValueError, match="allowed values"):
        linearize(problem, model, _points(problem), None, _balancer(problem).row_scales,
                  list(model.parameters()), mode="fd")
