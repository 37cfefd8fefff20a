"""The n-dimensional Poisson problem: its exact solution satisfies the PDE and the boundary
condition in every dimension, a wrong one does not, the exact gradient equals autograd's, and
bad dimensions are refused."""

import pytest
import torch
from kanpde.problems.poisson_nd import PoissonND, coordinate_names

from kanpde.models import KAN, ScaledModel
from kanpde.pde import ExactSolution


@pytest.mark.parametrize("dim", [1, 2, 3, 5])
def test_exact_solution_satisfies_the_pde(dim):
    p = PoissonND(dim)
    assert p.names == coordinate_names(dim) and p.dim_in == dim
    pts = p.sample_points("sobol", 1000, 400, seed=0)
    res = p.pointwise(ExactSolution(p), pts, engine="autograd")
    for term, r in res.items():
        assert r.dtype == torch.float64 and r.shape[0] > 0
        assert float(r.detach().abs().max()) < 1e-10, term


@pytest.mark.parametrize("dim", [2, 3])
def test_a_wrong_solution_is_detected(dim):
    p = PoissonND(dim)
    pts = p.sample_points("sobol", 256, 128, seed=1)

    class Perturbed(ExactSolution):
        def forward(self, x):
            return super().forward(x) * (1 + 0.1 * x[:, :1]) + 0.01

    res = p.pointwise(Perturbed(p), pts, engine="autograd")
    assert float(res["residual"].abs().max()) > 1e-2
    assert float(res["boundary"].abs().max()) > 1e-3


def test_exact_gradient_equals_autograd():
    p = PoissonND(3)
    x = torch.rand(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x.requires_grad_(True)
    (g,) = torch.autograd.grad(p.exact(x).sum(), x)
    torch.testing.assert_close(p.exact_gradient(x.detach())[..., 0], g, rtol=0, atol=1e-12)


def test_jets_equal_autograd_on_a_kan():
    p = PoissonND(3)
    model = ScaledModel(KAN([3, 4, 1], grid_size=4, spline_order=3, seed=0,
                            dtype=torch.float64), p.domain.lo, p.domain.hi)
    pts = p.sample_points("sobol", 128, 64, seed=0)
    a = p.pointwise(model, pts, engine="jets")
    b = p.pointwise(model, pts, engine="autograd")
    for t in a:
        torch.testing.assert_close(a[t], b[t], rtol=1e-10, atol=1e-10)


def test_test_grid_and_bad_dimensions():
    assert PoissonND(3).test_shape == (41, 41, 41)
    for bad in (0, 9, 2.5, True):
        with pytest.raises(ValueError, match="problem.dim"):
            PoissonND(bad)
