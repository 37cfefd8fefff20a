"""The problems with the package's own models (through ScaledModel): jets == autograd."""

import pytest
import torch
from kanpde.problems import PROBLEMS

from kanpde.models import KAN, MLP, ScaledModel

CASES = [(name, v) for name, cls in PROBLEMS.items() for v in cls.variants]


@pytest.mark.parametrize("name, variant", CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_kan_and_mlp_residuals_agree_across_engines(name, variant):
    p = PROBLEMS[name](variant)
    pts = p.sample_points("halton", 128, 32, seed=0)
    for net in (KAN([p.dim_in, 4, 1], grid_size=5, seed=0), MLP([p.dim_in, 12, 1], seed=0)):
        model = ScaledModel(net.double(), p.domain.lo, p.domain.hi).double()
        a = p.pointwise(model, pts, engine="autograd")
        j = p.pointwise(model, pts, engine="jets")
        for term in p.terms:
            torch.testing.assert_close(j[term], a[term], rtol=0, atol=1e-10)
