"""The Helmholtz problem: its exact solution satisfies the PDE and the boundary condition for
several wave numbers, a wrong one does not, the exact gradient equals autograd's, the
engines agree on a KAN, and bad wave numbers are refused."""

import pytest
import torch
from kanpde.problems.helmholtz import Helmholtz

from kanpde.models import KAN, ScaledModel
from kanpde.pde import ExactSolution


@pytest.mark.parametrize(("a1", "a2", "k"), [(1, 4, 1.0), (6, 6, 10.0), (3, 1, 0.0)])
def test_exact_solution_satisfies_the_pde(a1, a2, k):
    p = Helmholtz(a1, a2, k)
    pts = p.sample_points("sobol", 1000, 400, seed=0)
    res = p.pointwise(ExactSolution(p), pts, engine="autograd")
    scale = (a1**2 + a2**2) * 10.0
    for term, r in res.items():
        assert float(r.detach().abs().max()) < 1e-12 * scale, term


def test_a_wrong_solution_is_detected():
    p = Helmholtz()
    pts = p.sample_points("sobol", 256, 128, seed=1)

    class Shifted(ExactSolution):
        def forward(self, x):
            return super().forward(x) + 0.01 * torch.cos(2 * x[:, :1])

    res = p.pointwise(Shifted(p), pts, engine="autograd")
    assert float(res["residual"].detach().abs().max()) > 1e-3
    assert float(res["boundary"].detach().abs().max()) > 1e-3


def test_exact_gradient_equals_autograd():
    p = Helmholtz(3, 5, 2.0)
    x = torch.rand(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    x.requires_grad_(True)
    (g,) = torch.autograd.grad(p.exact(x).sum(), x)
    torch.testing.assert_close(p.exact_gradient(x.detach())[..., 0], g, rtol=0, atol=1e-12)


@pytest.mark.parametrize("engine", ["jets", "func"])
def test_engines_equal_autograd_on_a_kan(engine):
    p = Helmholtz()
    model = ScaledModel(KAN([2, 4, 1], grid_size=4, seed=0, dtype=torch.float64),
                        p.domain.lo, p.domain.hi)
    pts = p.sample_points("sobol", 128, 64, seed=0)
    a = p.pointwise(model, pts, engine=engine)
    b = p.pointwise(model, pts, engine="autograd")
    for t in a:
        torch.testing.assert_close(a[t], b[t], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("kw", "key"), [({"a1": 0}, "a1"), ({"a2": 1.5}, "a2"),
                                         ({"a1": True}, "a1"), ({"k": float("nan")}, "k"),
                                         ({"k": "high"}, "k")])
def test_bad_wave_numbers_are_refused(kw, key):
    with pytest.raises(ValueError, match=f"problem.{key}"):
        Helmholtz(**kw)
