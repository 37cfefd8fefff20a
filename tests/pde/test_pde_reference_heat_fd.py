"""The finite-difference heat reference with a variable coefficient: second order in space
against an exact solution, second order in time (successive differences)."""

from __future__ import annotations

import numpy as np
import pytest

from kanpde.pde.reference.heat_fd import heat_variable_coefficient

PI = np.pi


def coefficient(x, y):
    return 1 + 0.5 * np.sin(PI * x) * np.cos(PI * y)


def exact(x, y, t):
    return np.sin(PI * x) * np.sin(2 * PI * y) * np.sin(t)


def source(x, y, t):  # u_t - a lap u
    return (np.sin(PI * x) * np.sin(2 * PI * y) * np.cos(t)
            + coefficient(x, y) * 5 * PI**2 * exact(x, y, t))


def _solve(n, dt):
    g = np.linspace(0, 1, n + 1)
    x, y = np.meshgrid(g, g, indexing="ij")
    u = heat_variable_coefficient(coefficient(x, y), source, [1.0], dt)[0]
    return u, exact(x, y, 1.0)


def test_second_order_in_space():
    errors = []
    for n in (16, 32, 64):
        u, ref = _solve(n, 1e-3)
        errors.append(np.abs(u - ref).max() / np.abs(ref).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(orders > 1.8), (errors, orders)


def test_second_order_in_time():
    u = [_solve(16, dt)[0] for dt in (0.1, 0.05, 0.025)]
    ratio = np.abs(u[0] - u[1]).max() / np.abs(u[1] - u[2]).max()
    assert 3.3 < ratio < 5, ratio


def test_bad_times_and_shapes_are_refused():
    with pytest.raises(ValueError, match="multiples of dt"):
        heat_variable_coefficient(np.ones((5, 5)), source, [0.33], 0.1)
    with pytest.raises(ValueError, match="nodal values"):
        heat_variable_coefficient(np.ones((5, 4)), source, [0.1], 0.1)
