import numpy as np
import pytest

from kanpde.pde.reference import allen_cahn_dirichlet, allen_cahn_dirichlet_richardson


def u0(x):
    return x**2 * np.cos(np.pi * x)


KW = {
    "diffusion": 0.01,
    "reaction": 5.0,
    "boundary_value": -1.0,
    "t_end": 0.2,
    "n_out": 3,
    "rtol": 1e-11,
    "atol": 1e-13,
}


def test_method_of_lines_is_second_order_in_space():
    x_ref, t, ref = allen_cahn_dirichlet(u0, n=512, **KW)
    errs = []
    for n in (32, 64, 128):
        x, _, u = allen_cahn_dirichlet(u0, n=n, **KW)
        np.testing.assert_allclose(x, x_ref[:: 512 // n], atol=1e-15)
        errs.append(np.abs(u[-1] - ref[-1][:: 512 // n]).max())
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    np.testing.assert_allclose(orders, 2.0, atol=0.15)
    np.testing.assert_allclose(t, [0.0, 0.1, 0.2])


def test_richardson_extrapolation_is_fourth_order_and_boundary_data_hold():
    _, _, ref = allen_cahn_dirichlet_richardson(u0, n=512, **KW)
    errs = []
    for n in (32, 64):
        x, _, u = allen_cahn_dirichlet_richardson(u0, n=n, **KW)
        np.testing.assert_array_equal(u[:, [0, -1]], -1.0)
        np.testing.assert_allclose(u[0], u0(x), atol=1e-15)
        errs.append(np.abs(u[-1] - ref[-1][:: 512 // n]).max())
    assert np.log2(errs[0] / errs[1]) > 3.5


def test_constant_steady_state():
    u = allen_cahn_dirichlet(lambda x: -np.ones_like(x), 1e-3, 5.0, -1.0, n=16, t_end=0.5, n_out=2)[
        2
    ]
    np.testing.assert_allclose(u, -1.0, atol=1e-12)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="intervals"):
        allen_cahn_dirichlet(u0, 1e-3, 5.0, -1.0, n=1)
    with pytest.raises(ValueError, match="diffusion"):
        allen_cahn_dirichlet(u0, -1e-3, 5.0, -1.0, n=8)
