"""Coefficient fields: grid interpolation against scipy's RegularGridInterpolator, piecewise
constants at their breaks, file round trip, the log-normal draw's statistics, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.interpolate import RegularGridInterpolator

from kanpde.pde.fields import FunctionField, GridField, PiecewiseConstant, lognormal_grid


@pytest.mark.parametrize("method", ["nearest", "linear"])
def test_grid_field_matches_scipy(method):
    rng = np.random.default_rng(0)
    axes = [np.linspace(0, 1, 7), np.linspace(-1, 2, 5), np.linspace(0, 0.5, 4)]
    values = rng.random((7, 5, 4))
    field = GridField(axes, values, ("x", "y", "z"), method=method)
    pts = np.stack([rng.uniform(a[0], a[-1], 300) for a in axes], axis=1)
    want = RegularGridInterpolator(axes, values, method=method)(pts)
    got = field(torch.as_tensor(pts))[:, 0].numpy()
    if method == "nearest":  # ties at cell midpoints aside, the same node
        assert np.mean(np.isclose(got, want)) > 0.99
    else:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(field.numpy(pts), got)
    outside = field(torch.tensor([[5.0, -3.0, 0.25]], dtype=torch.float64))
    assert torch.isfinite(outside).all()


def test_grid_field_file_round_trip_and_errors(tmp_path):
    axes = [np.linspace(0, 1, 4), np.linspace(0, 1, 3)]
    field = GridField(axes, np.arange(12.0).reshape(4, 3), ("x", "y"), method="linear")
    field.save(tmp_path / "a.npz")
    back = GridField.from_file(tmp_path / "a.npz", method="linear")
    pts = torch.rand(50, 2, dtype=torch.float64)
    torch.testing.assert_close(back(pts), field(pts))
    with pytest.raises(ValueError, match="one axis per name"):
        GridField(axes, np.zeros((3, 4)), ("x", "y"))
    with pytest.raises(ValueError, match="equispaced"):
        GridField([np.array([0, 0.1, 1.0]), axes[1]], np.zeros((3, 3)), ("x", "y"))
    with pytest.raises(ValueError, match="unknown interpolation"):
        GridField(axes, np.zeros((4, 3)), ("x", "y"), method="cubic")
    np.savez(tmp_path / "bad.npz", values=np.zeros((4, 3)))
    with pytest.raises(ValueError, match="'names' and 'values'"):
        GridField.from_file(tmp_path / "bad.npz")


def test_piecewise_constant_and_function_field():
    k = PiecewiseConstant("z", [0.5], [8.0, 10.0])
    z = torch.tensor([[0.0], [0.4999], [0.5], [0.9]], dtype=torch.float64)
    assert k(z)[:, 0].tolist() == [8.0, 8.0, 10.0, 10.0]
    with pytest.raises(ValueError, match="len\\(values\\) = len\\(breaks\\) \\+ 1"):
        PiecewiseConstant("z", [0.5], [1.0])
    f = FunctionField(lambda x: 2 + x[:, 0] * x[:, 1], ("x", "y"))
    assert f(torch.tensor([[1.0, 3.0]], dtype=torch.float64)).shape == (1, 1)


def test_lognormal_grid_is_standardised_in_log_and_seeded():
    a = lognormal_grid(64, 4.0, seed=3)
    g = np.log(a)
    assert a.shape == (64, 64) and abs(g.mean()) < 1e-12 and abs(g.std() - 1) < 1e-12
    np.testing.assert_array_equal(a, lognormal_grid(64, 4.0, seed=3))
    assert not np.array_equal(a, lognormal_grid(64, 4.0, seed=4))
    with pytest.raises(ValueError, match="n >= 4"):
        lognormal_grid(2)
