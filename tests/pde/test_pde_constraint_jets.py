"""Hard constraints: exact for an untrained network, and their jets equal nested autograd
(one output and several, coupled through the transform or not)."""

from __future__ import annotations

import pytest
import torch
from kanpde.problems.allen_cahn import AllenCahn
from kanpde.problems.pinnacle.chaotic import GrayScott
from kanpde.problems.poisson import Poisson

from kanpde.models import KAN, MLP, ScaledModel
from kanpde.pde import HardConstraint, make_derivatives


class Coupled(Poisson):
    """Two outputs through a transform that mixes the network's channels nonlinearly (the
    cross terms ``T_{x n_k}``, ``T_{n_k n_l}`` of the jet chain rule)."""

    constrained_terms = ()

    def __init__(self):
        super().__init__()
        self.dim_out = 2

    def residual(self, u):
        return u.laplacian()

    def output_transform(self, x, n):
        return torch.cat([x[:, :1] * n[:, :1] + n[:, 1:] ** 2 * x[:, 1:],
                          torch.sin(n[:, :1]) * n[:, 1:] + x[:, :1] ** 2 * n[:, :1]], dim=1)


PROBLEMS = {"poisson": Poisson, "allen_cahn_dirichlet": lambda: AllenCahn(variant="dirichlet"),
            "coupled_two_outputs": Coupled, "gray_scott": lambda: GrayScott(use_cache=False)}


def _model(problem, family):
    d, m = problem.dim_in, problem.dim_out
    net = KAN([d, 5, m], seed=1) if family == "kan" else MLP([d, 12, 12, m], seed=1)
    lo, hi = problem.domain.lo, problem.domain.hi
    return HardConstraint(ScaledModel(net, lo, hi), problem).double()


@pytest.mark.parametrize("family", ["kan", "mlp"])
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_jets_equal_autograd(name, family):
    problem = PROBLEMS[name]()
    model = _model(problem, family)
    gen = torch.Generator().manual_seed(0)
    lo = torch.tensor(problem.domain.lo, dtype=torch.float64)
    hi = torch.tensor(problem.domain.hi, dtype=torch.float64)
    x = lo + (hi - lo) * torch.rand(64, len(lo), generator=gen, dtype=torch.float64)
    names = problem.names
    pair = [(names[0], names[1])]
    ua = make_derivatives(model, x.clone().requires_grad_(True), names, engine="autograd",
                          pairs=pair)
    uj = make_derivatives(model, x.clone(), names, engine="jets", pairs=pair)
    for get in (lambda u: u.value, lambda u: u.d(names[0]), lambda u: u.d(names[1]),
                lambda u: u.d2(names[0]), lambda u: u.d2(names[1]),
                lambda u: u.d2(names[0], names[1])):
        torch.testing.assert_close(get(uj), get(ua), atol=1e-10, rtol=0)
    params = list(model.parameters())
    ra = problem.pointwise(model, {"residual": x}, engine="autograd")["residual"]
    rj = problem.pointwise(model, {"residual": x}, engine="jets")["residual"]
    for ga, gj in zip(torch.autograd.grad((ra**2).mean(), params),
                      torch.autograd.grad((rj**2).mean(), params), strict=True):
        torch.testing.assert_close(gj, ga, atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_constraint_exact_for_untrained_network(name):
    problem = PROBLEMS[name]()
    model = _model(problem, "mlp")
    pts = problem.sample_points("sobol", 64, 64, seed=0)
    for term in problem.constrained_terms:
        r = problem.pointwise(model, {term: pts[term]}, engine="autograd")[term]
        assert float(r.abs().max()) < 1e-12, term
