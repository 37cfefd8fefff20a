"""Problems on non-box domains: the L-shape (kanpde.problems.lshape) and a custom problem
on a disk with a Neumann condition; exact solutions against their own residuals (float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from kanpde.problems import LShape
from kanpde.problems.lshape import VERTICES

from kanpde.pde import Dirichlet, ExactSolution, Neumann, Problem
from kanpde.pde.geometry import Disk, Polygon

VARIANTS = list(LShape.variants)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("sampler", ["sobol", "uniform", "halton"])
def test_exact_solution_satisfies_the_pde_and_the_boundary_condition(variant, sampler):
    p = LShape(variant)
    pts = p.sample_points(sampler, 2000, 400, seed=0)
    shape = Polygon(VERTICES)
    assert np.all(shape.contains(pts["residual"].numpy()))
    assert np.max(shape.distance_to_boundary(pts["boundary"].numpy())) < 1e-12
    res = p.pointwise(ExactSolution(p), pts, engine="autograd")
    assert float(res["boundary"].detach().abs().max()) < 1e-14
    assert float(res["residual"].detach().abs().max()) < 1e-8


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_wrong_solution_is_detected(variant):
    p = LShape(variant)
    pts = p.sample_points("sobol", 256, 64, seed=1)

    class Perturbed(ExactSolution):
        def forward(self, x):
            return super().forward(x) * (1 + 0.1 * x[:, :1] ** 2)

    res = p.pointwise(Perturbed(p), pts, engine="autograd")
    assert float(res["residual"].detach().abs().max()) > 1e-2


def test_the_singular_solution_is_the_corner_function():
    """u = r^(2/3) sin(2 theta / 3): zero on the two edges at the corner, and along the ray
    theta = 3 pi / 4 it grows like r^(2/3)."""
    p = LShape("singular")
    edges = torch.tensor([[0.5, 0.0], [1.0, 0.0], [0.0, -0.5], [0.0, -1.0]], dtype=torch.float64)
    assert float(p.exact(edges).abs().max()) < 1e-15
    r = torch.tensor([1e-3, 1e-2, 0.5], dtype=torch.float64)
    ray = torch.stack([r * math.cos(3 * math.pi / 4), r * math.sin(3 * math.pi / 4)], dim=1)
    u = p.exact(ray)[:, 0]
    torch.testing.assert_close(u, r ** (2 / 3) * math.sin(math.pi / 2), rtol=1e-14, atol=0)


def test_test_set_is_the_grid_inside_the_domain():
    p = LShape("sinsin")
    assert p.test_axes() == []
    coords, u_ref = p.test_set()
    assert coords.shape == (7500, 2) and u_ref.shape == (7500, 1)
    assert np.all(Polygon(VERTICES).contains(coords))
    assert not np.any(np.all(coords == 0.0, axis=1))  # the corner is not a test point
    exact = np.sin(np.pi * coords[:, :1]) * np.sin(np.pi * coords[:, 1:])
    np.testing.assert_allclose(u_ref, exact, rtol=0, atol=1e-15)
    box = p.domain
    assert box.lo == (-1.0, -1.0) and box.hi == (1.0, 1.0)


class DiskFlux(Problem):
    """u_xx + u_yy = 4 on the unit disk with du/dn = 2 on the circle: u = x^2 + y^2 (+ c),
    and u = 1 on the circle to fix c."""

    def __init__(self):
        disk = Disk((0.0, 0.0), 1.0)
        super().__init__(disk, [Neumann("flux", disk, 2.0), Dirichlet("value", disk, 1.0)])

    def residual(self, u):
        return u.laplacian() - 4.0

    def exact(self, x):
        return (x**2).sum(dim=1, keepdim=True)


@pytest.mark.parametrize("engine", ["autograd", "jets"])
def test_neumann_on_a_shape_uses_its_outward_normal(engine, jet_net_factory):
    p = DiskFlux()
    pts = p.sample_points("sobol", 512, 256, seed=3)
    res = p.pointwise(ExactSolution(p), pts, engine="autograd")
    for term in p.terms:
        assert float(res[term].detach().abs().max()) < 1e-12, term

    class Shifted(ExactSolution):  # the wrong flux: u = (x^2 + y^2) / 2 + 1/2
        def forward(self, x):
            return 0.5 * super().forward(x) + 0.5

    res = p.pointwise(Shifted(p), pts, engine="autograd")
    assert float(res["flux"].detach().abs().min()) > 0.999  # du/dn = 1 instead of 2
    assert float(res["value"].detach().abs().max()) < 1e-12
    # the same residuals from the jets engine on a network
    net = jet_net_factory([2, 8, 1], seed=0)
    a = p.pointwise(net, pts, engine="autograd")
    b = p.pointwise(net, pts, engine=engine)
    for term in p.terms:
        torch.testing.assert_close(a[term], b[term], rtol=1e-10, atol=1e-12)
