import numpy as np
import pytest
import torch
from torch import nn

from kanpde.pde import Box, Dirichlet, InitialValue, Neumann, Periodic, make_derivatives

BOX = Box(("x", "y"), (0.0, 0.0), (1.0, 2.0))


class Quadratic(nn.Module):
    """u = x^2 + 3 y."""

    def forward(self, p):
        return p[:, 0:1] ** 2 + 3 * p[:, 1:2]


def _residual(cond, x):
    xe = cond.eval_points(torch.as_tensor(x, dtype=torch.float64))
    return cond.residual(make_derivatives(Quadratic(), xe, BOX.names, engine="autograd"))


def test_dirichlet_residual_is_value_minus_data():
    cond = Dirichlet("bc", BOX.faces(), lambda p: p[:, 0] ** 2 + 3 * p[:, 1])
    x = cond.sample("sobol", 64, seed=0)
    assert np.all(np.any([f.contains(x, 0) for f in BOX.faces()], axis=0))
    torch.testing.assert_close(_residual(cond, x), torch.zeros(64, 1, dtype=torch.float64))
    off = Dirichlet("bc", BOX.faces(), 1.5)
    r = _residual(off, x)
    xt = torch.as_tensor(x)
    torch.testing.assert_close(r, xt[:, :1] ** 2 + 3 * xt[:, 1:] - 1.5)


def test_neumann_uses_the_outward_normal_of_each_face():
    # du/dn = -2x = 0 on x=0, 2 on x=1, -3 on y=0, +3 on y=2
    expected = {("x", "low"): 0.0, ("x", "high"): 2.0, ("y", "low"): -3.0, ("y", "high"): 3.0}

    def data(p):
        g = torch.zeros(p.shape[0], dtype=p.dtype)
        g = torch.where(p[:, 0] == 1.0, 2.0, g)
        g = torch.where(p[:, 1] == 0.0, -3.0, g)
        return torch.where(p[:, 1] == 2.0, 3.0, g)

    cond = Neumann("flux", BOX.faces(), data)
    x = cond.sample("halton", 90, seed=1)
    torch.testing.assert_close(_residual(cond, x), torch.zeros(len(x), 1, dtype=torch.float64))
    for (name, side), g in expected.items():
        single = Neumann("flux", [BOX.face(name, side)], g)
        xs = single.sample("uniform", 10, seed=0)
        assert float(_residual(single, xs).detach().abs().max()) < 1e-13
        wrong = Neumann("flux", [BOX.face(name, side)], g + 1.0)
        torch.testing.assert_close(
            _residual(wrong, xs), torch.full((10, 1), -1.0, dtype=torch.float64)
        )


def test_periodic_pairs_points_and_compares_value_and_derivative():
    box = Box(("x", "t"), (-1.0, 0.0), (1.0, 1.0))
    cond = Periodic("per", box, "x")
    x = torch.as_tensor(cond.sample("uniform", 20, seed=0))
    assert torch.all(x[:, 0] == -1.0)
    xe = cond.eval_points(x)
    assert xe.shape == (40, 2) and torch.all(xe[20:, 0] == 1.0)
    torch.testing.assert_close(xe[20:, 1], x[:, 1], rtol=0, atol=0)

    class Periodic2(nn.Module):  # period 2 in x
        def forward(self, p):
            return torch.sin(np.pi * p[:, :1] + 0.3) * torch.exp(p[:, 1:])

    u = make_derivatives(Periodic2(), xe, box.names, engine="autograd")
    r = cond.residual(u)
    assert r.shape == (20, 2) and float(r.detach().abs().max()) < 1e-14

    class NotPeriodic(nn.Module):  # u = x^2 t: equal values, opposite slopes at x = -1, 1
        def forward(self, p):
            return p[:, :1] ** 2 * p[:, 1:]

    r = cond.residual(make_derivatives(NotPeriodic(), xe, box.names, engine="autograd"))
    torch.testing.assert_close(r[:, 0], torch.zeros(20, dtype=torch.float64))
    torch.testing.assert_close(r[:, 1], -4 * x[:, 1])
    r0 = Periodic("per", box, "x", match_derivative=False).residual(
        make_derivatives(NotPeriodic(), xe, box.names, engine="autograd")
    )
    assert r0.shape == (20, 1)


def test_initial_value_lives_on_the_initial_slice():
    box = Box(("x", "t"), (0.0, 0.5), (1.0, 2.0))
    cond = InitialValue("ic", box, lambda p: torch.sin(p[:, :1]))
    assert cond.kind == "initial"
    x = cond.sample("lhs", 30, seed=2)
    assert np.all(x[:, 1] == 0.5) and box.contains(x).all()

    class U(nn.Module):
        def forward(self, p):
            return torch.sin(p[:, :1]) + (p[:, 1:] - 0.5) * 7

    r = cond.residual(make_derivatives(U(), torch.as_tensor(x), box.names, engine="autograd"))
    assert float(r.detach().abs().max()) < 1e-15


def test_condition_names_are_checked():
    with pytest.raises(ValueError, match="other than 'residual'"):
        Dirichlet("residual", BOX.faces())
    with pytest.raises(ValueError, match="at least one face"):
        Dirichlet("bc", [])
