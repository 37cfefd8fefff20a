"""Every closed-form benchmark solution satisfies its PDE and conditions (float64)."""

import numpy as np
import pytest
import torch
from kanpde.problems import Darcy, Heat, Poisson

from kanpde.pde import ExactSolution, HardConstraint

CLOSED_FORM = [
    (Poisson, "kan_paper"),
    (Poisson, "sinsin"),
    (Darcy, "smooth"),
    (Heat, "1d"),
    (Heat, "diffusion2d"),
]
IDS = [f"{c.__name__}-{v}" for c, v in CLOSED_FORM]


@pytest.mark.parametrize("cls, variant", CLOSED_FORM, ids=IDS)
@pytest.mark.parametrize("sampler", ["sobol", "uniform", "grid"])
def test_exact_solution_residual_and_conditions_vanish(cls, variant, sampler):
    p = cls(variant)
    pts = p.sample_points(sampler, 2000, 400, seed=0)
    res = p.pointwise(ExactSolution(p), pts, engine="autograd")
    assert set(res) == set(p.terms)
    for term, r in res.items():
        assert r.dtype == torch.float64 and r.shape[0] == pts[term].shape[0] > 0
        assert float(r.detach().abs().max()) < 1e-8, term


@pytest.mark.parametrize("cls, variant", CLOSED_FORM, ids=IDS)
def test_a_wrong_solution_is_detected(cls, variant):
    # guards against a residual that vanishes for every function
    p = cls(variant)
    pts = p.sample_points("sobol", 256, 64, seed=1)

    class Perturbed(ExactSolution):
        def forward(self, x):
            return super().forward(x) * (1 + 0.1 * x[:, :1])

    res = p.pointwise(Perturbed(p), pts, engine="autograd")
    assert float(res["residual"].detach().abs().max()) > 1e-2


@pytest.mark.parametrize("cls, variant", CLOSED_FORM, ids=IDS)
def test_analytic_gradient_matches_autograd_of_exact(cls, variant):
    p = cls(variant)
    x = torch.as_tensor(p.sample_points("halton", 300, 0, seed=2)["residual"])
    g = p.exact_gradient(x)
    auto = super(cls, p).exact_gradient(x)  # the base class differentiates exact()
    assert g.shape == (300, p.dim_in, 1)
    torch.testing.assert_close(g, auto, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls, variant", CLOSED_FORM, ids=IDS)
def test_hard_constraint_satisfies_its_terms(cls, variant, jet_net_factory):
    p = cls(variant)
    net = jet_net_factory([p.dim_in, 16, 1], seed=0)
    pts = p.sample_points("sobol", 64, 128, seed=0)
    res = p.pointwise(HardConstraint(net, p), pts)
    assert p.constrained_terms
    for term in p.constrained_terms:
        assert float(res[term].detach().abs().max()) < 1e-14, term


def test_test_grids():
    expected = {
        (Poisson, "kan_paper"): [201, 201],
        (Poisson, "sinsin"): [201, 201],
        (Darcy, "smooth"): [101, 101],
        (Heat, "1d"): [101, 101],
        (Heat, "diffusion2d"): [41, 41, 11],
    }
    for (cls, variant), shape in expected.items():
        p = cls(variant)
        axes = p.test_axes()
        assert [n for n, _ in axes] == list(p.names)
        assert [len(a) for _, a in axes] == shape
        coords, u = p.test_set()
        assert coords.shape == (int(np.prod(shape)), p.dim_in) and u.shape == (coords.shape[0], 1)
        for (_, a), lo, hi in zip(axes, p.domain.lo, p.domain.hi, strict=True):
            assert a[0] == lo and a[-1] == hi
        exact = p.exact(torch.as_tensor(coords)).numpy()
        np.testing.assert_array_equal(u, exact)


def test_poisson_loss_weights_follow_the_paper():
    assert Poisson().loss_weights == {"residual": 0.01, "boundary": 1.0}
    assert Poisson("sinsin", loss_weights={"residual": 1.0}).loss_weights["residual"] == 1.0
    assert Heat().loss_weights == {"residual": 1.0, "initial": 1.0, "boundary": 1.0}


def test_heat_diffusion_override_keeps_the_exact_solution():
    p = Heat("1d", diffusion=0.3, t_end=2.0)
    pts = p.sample_points("sobol", 512, 64, seed=0)
    res = p.pointwise(ExactSolution(p), pts, engine="autograd")
    assert max(float(r.detach().abs().max()) for r in res.values()) < 1e-8
    assert p.domain.hi == (1.0, 2.0)
    assert Heat("diffusion2d").diffusion == 0.1 and Heat().diffusion == 1.0
