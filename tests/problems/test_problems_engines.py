"""Residuals do not depend on the derivative engine (jets vs nested autograd)."""

import pytest
import torch
from kanpde.problems import AllenCahn, Darcy, Heat, Poisson

ALL = [
    (Poisson, "kan_paper"),
    (Poisson, "sinsin"),
    (AllenCahn, "periodic"),
    (AllenCahn, "dirichlet"),
    (Darcy, "smooth"),
    (Darcy, "random_field"),
    (Heat, "1d"),
    (Heat, "diffusion2d"),
]


@pytest.mark.parametrize("cls, variant", ALL, ids=[f"{c.__name__}-{v}" for c, v in ALL])
def test_jets_and_autograd_give_the_same_residuals(cls, variant, jet_net_factory):
    p = cls(variant)
    net = jet_net_factory([p.dim_in, 16, 16, p.dim_out], seed=3)
    pts = p.sample_points("sobol", 256, 64, seed=0)
    a = p.pointwise(net, pts, engine="autograd")
    j = p.pointwise(net, pts, engine="jets")
    assert set(a) == set(j) == set(p.terms)
    for term in p.terms:
        assert a[term].shape == j[term].shape
        torch.testing.assert_close(j[term], a[term], rtol=0, atol=1e-10)
        assert float(a[term].detach().abs().max()) > 1e-3  # a random net is not a solution
