"""Reference solutions of the problems without a closed form: grids, data, PDE consistency,
disk cache. Small resolutions keep these fast; the full Allen-Cahn reference is `slow`."""

import kanpde.problems.allen_cahn as ac_module
import kanpde.problems.darcy as darcy_module
import numpy as np
import pytest
import torch
from kanpde.problems import AllenCahn, Darcy

from kanpde.pde.reference import cache_dir


class GridDerivatives:
    """Duck-typed derivative accessor over values given on a grid (finite differences)."""

    def __init__(self, names, coords, value, d1, d2):
        self.names, self._c, self.value, self._d1, self._d2 = names, coords, value, d1, d2

    def x(self, name):
        return self._c[name]

    def d(self, name):
        return self._d1[name]

    def d2(self, a, b=None):
        assert b is None or b == a
        return self._d2[a]

    def laplacian(self, names=None):
        names = names or [n for n in self.names if n != "t"]
        return sum(self._d2[n] for n in names)


def _col(a):
    return torch.as_tensor(np.ascontiguousarray(a).reshape(-1, 1), dtype=torch.float64)


def test_periodic_reference_grid_data_and_cache(monkeypatch):
    p = AllenCahn(reference_modes=32, reference_dt=1e-3, t_end=0.05)
    (nx, x), (nt, t) = p.test_axes()
    assert (nx, nt) == ("x", "t") and len(x) == 512 and len(t) == 201
    np.testing.assert_allclose(x, -1 + 2 * np.arange(512) / 512)
    coords, u = p.test_set()
    assert coords.shape == (512 * 201, 2) and u.shape == (512 * 201, 1)
    grid = u.reshape(512, 201)
    np.testing.assert_allclose(grid[:, 0], x**2 * np.cos(np.pi * x), atol=1e-15)
    assert np.all(np.abs(grid) <= 1.0 + 1e-6)
    _, _, direct = ac_module.allen_cahn_periodic(
        ac_module.initial_value_np,
        1e-4,
        5.0,
        modes=32,
        dt=1e-3,
        t_end=0.05,
        n_out=201,
        ic_oversample=ac_module.IC_OVERSAMPLE,
    )
    # the 32-mode solution, interpolated to the 512 test nodes, passes through its own nodes
    np.testing.assert_allclose(grid[::16, 1:], direct.T[:, 1:], atol=1e-13)
    spec = np.fft.rfft(grid[:, 1:].T, axis=1)
    assert np.abs(spec[:, 17:]).max() < 1e-10  # no modes beyond the 32 the solver has
    assert len(list(cache_dir().glob("allen_cahn_periodic-*.npz"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("the cached reference should have been read")

    monkeypatch.setattr(ac_module, "allen_cahn_periodic", fail)
    np.testing.assert_array_equal(
        AllenCahn(reference_modes=32, reference_dt=1e-3, t_end=0.05).test_set()[1], u
    )
    with pytest.raises(AssertionError, match="cached"):  # another parameter, another key
        AllenCahn(reference_modes=32, reference_dt=1e-3, t_end=0.06).test_set()


def test_periodic_reference_solves_the_problems_pde():
    # A resolved case: the problem's residual (through a finite-difference accessor) of the
    # reference is at the level of the O(dt_out^2) time differences.
    p = AllenCahn(diffusion=0.01, reference_modes=64, reference_dt=1e-4, t_end=0.2)
    x, t, u = p.reference_grid()  # u (201, 512)
    k = np.pi * np.arange(257)
    uxx = np.fft.irfft(-(k**2) * np.fft.rfft(u, axis=1), n=512, axis=1)
    dt = t[1] - t[0]
    ut = (u[2:] - u[:-2]) / (2 * dt)
    tt, xx = np.meshgrid(t[1:-1], x, indexing="ij")
    acc = GridDerivatives(
        ("x", "t"),
        {"x": _col(xx), "t": _col(tt)},
        _col(u[1:-1]),
        {"t": _col(ut)},
        {"x": _col(uxx[1:-1])},
    )
    # the solver enforces the PDE at its 64 nodes (every 8th test node)
    r = p.residual(acc).numpy().reshape(199, 512)[:, ::8]
    # row 0 uses the t = 0 row, which is u0 itself rather than its 64-mode projection
    assert np.abs(r[1:]).max() < 2e-4 * np.abs(ut).max()
    assert np.abs(r[100:]).max() < 2e-5
    # periodic data: values at x = -1 + 2j/64 wrap around, so the grid holds no x = 1 column
    assert x[-1] < 1.0


def test_dirichlet_reference_grid_and_data():
    p = AllenCahn("dirichlet", reference_intervals=512, t_end=0.02)
    (_, x), (_, t) = p.test_axes()
    np.testing.assert_allclose(x, np.linspace(-1, 1, 513))
    _, u = p.test_set()
    grid = u.reshape(513, 201)
    np.testing.assert_array_equal(grid[[0, -1], :], -1.0)
    np.testing.assert_allclose(grid[:, 0], x**2 * np.cos(np.pi * x), atol=1e-15)
    # the reference solves the problem's PDE (second-order differences, interior nodes)
    xg, tg, ug = p.reference_grid()
    h, dt = xg[1] - xg[0], tg[1] - tg[0]
    ut = (ug[2:, 1:-1] - ug[:-2, 1:-1]) / (2 * dt)
    uxx = (ug[1:-1, 2:] - 2 * ug[1:-1, 1:-1] + ug[1:-1, :-2]) / h**2
    tt, xx = np.meshgrid(tg[1:-1], xg[1:-1], indexing="ij")
    acc = GridDerivatives(
        ("x", "t"),
        {"x": _col(xx), "t": _col(tt)},
        _col(ug[1:-1, 1:-1]),
        {"t": _col(ut)},
        {"x": _col(uxx)},
    )
    r = p.residual(acc).numpy()
    assert np.abs(r).max() < 2e-3 * np.abs(ut).max()


def test_darcy_random_field_reference(monkeypatch):
    p = Darcy("random_field", reference_cells=128)
    (_, x), (_, y) = p.test_axes()
    assert len(x) == len(y) == 129
    np.testing.assert_allclose(x, np.linspace(0, 1, 129))
    coords, u = p.test_set()
    grid = u.reshape(129, 129)
    assert np.all(grid[[0, -1], :] == 0) and np.all(grid[:, [0, -1]] == 0)
    assert grid[1:-1, 1:-1].min() > 0  # f = 1 > 0 and the maximum principle
    # the problem's strong-form residual of the reference, with second-order differences
    h = x[1] - x[0]
    ux = (grid[2:, 1:-1] - grid[:-2, 1:-1]) / (2 * h)
    uy = (grid[1:-1, 2:] - grid[1:-1, :-2]) / (2 * h)
    uxx = (grid[2:, 1:-1] - 2 * grid[1:-1, 1:-1] + grid[:-2, 1:-1]) / h**2
    uyy = (grid[1:-1, 2:] - 2 * grid[1:-1, 1:-1] + grid[1:-1, :-2]) / h**2
    xx, yy = np.meshgrid(x[1:-1], y[1:-1], indexing="ij")
    acc = GridDerivatives(
        ("x", "y"),
        {"x": _col(xx), "y": _col(yy)},
        _col(grid[1:-1, 1:-1]),
        {"x": _col(ux), "y": _col(uy)},
        {"x": _col(uxx), "y": _col(uyy)},
    )
    r = p.residual(acc).numpy().reshape(127, 127)
    # O(h^2) difference errors (f = 1); u has weak r^2 log r singularities at the corners
    # (f does not vanish there), where second differences are O(1) off, so skip those
    corner = np.hypot(np.minimum(xx, 1 - xx), np.minimum(yy, 1 - yy)) < 0.05
    assert np.abs(r[~corner]).max() < 5e-3
    assert np.abs(r[corner]).max() < 0.1
    # FV coefficient (numpy) and residual coefficient (torch) are the same field
    a_t, _, _ = p.coefficient(_col(xx), _col(yy))
    np.testing.assert_allclose(a_t.numpy()[:, 0], p.coefficient_np(xx, yy).ravel(), rtol=1e-12)

    monkeypatch.setattr(darcy_module, "darcy_richardson", None)  # must come from the cache
    np.testing.assert_array_equal(Darcy("random_field", reference_cells=128).test_set()[1], u)


def test_darcy_field_settings_change_the_field_and_the_cache_key():
    base = Darcy("random_field")
    x = torch.rand(50, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.rand(50, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    a0 = base.coefficient(x, y)[0]
    keys = {str(base.reference_params())}
    for kwargs in ({"field_seed": 1}, {"length_scale": 0.3}, {"sigma": 0.5}):
        other = Darcy("random_field", **kwargs)
        assert not torch.allclose(other.coefficient(x, y)[0], a0)
        keys.add(str(other.reference_params()))
    keys.add(str(Darcy("random_field", source=2.0).reference_params()))
    keys.add(str(Darcy("random_field", reference_cells=512).reference_params()))
    assert len(keys) == 6


@pytest.mark.slow
def test_full_periodic_reference_self_convergence():
    """512 modes, dt = 1e-5 against 1024 modes, dt = 5e-6 (tens of seconds)."""
    fine = AllenCahn(reference_modes=1024, reference_dt=5e-6)
    x, t, u = AllenCahn().reference_grid()
    _, _, v = fine.reference_grid()
    d = u - v
    assert u.shape == (201, 512)
    assert np.abs(d[-1]).max() < 1e-5  # measured 1.4e-6
    assert np.linalg.norm(d) / np.linalg.norm(v) < 1e-5  # measured 2.7e-6
