import numpy as np
import pytest

from kanpde.pde.reference import darcy_fv, darcy_richardson

PI = np.pi


def a_smooth(x, y):
    return 1.0 / (1 + x**2 + y**2 + (x - 1) ** 2 + (y - 1) ** 2)


def f_smooth(x, y):
    a = a_smooth(x, y)
    return 2 * PI**2 * a * np.sin(PI * x) * np.sin(PI * y) + 2 * PI * a**2 * (
        (2 * x - 1) * np.cos(PI * x) * np.sin(PI * y)
        + (2 * y - 1) * np.sin(PI * x) * np.cos(PI * y)
    )


def _error(solver, n):
    x, y, u = solver(a_smooth, f_smooth, n)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    return np.abs(u - np.sin(PI * xx) * np.sin(PI * yy)).max()


def test_reproduces_the_manufactured_solution_at_second_order():
    errs = [_error(darcy_fv, n) for n in (16, 32, 64)]
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    np.testing.assert_allclose(orders, 2.0, atol=0.05)
    assert errs[-1] < 3e-4


def test_richardson_is_fourth_order():
    errs = [_error(darcy_richardson, n) for n in (8, 16, 32)]
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(orders > 3.8)
    assert errs[-1] < 3e-7


def test_constant_coefficient_matches_the_five_point_laplacian():
    # a = 1, f = 1: compare with an independent Kronecker-sum assembly
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    n = 12
    x, y, u = darcy_fv(lambda x, y: np.ones_like(x), 1.0, n)
    m = n - 1
    t = sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1]) * n**2
    lap = sp.kron(t, sp.eye(m)) + sp.kron(sp.eye(m), t)
    ref = spsolve(lap.tocsc(), np.ones(m * m)).reshape(m, m)
    np.testing.assert_allclose(u[1:-1, 1:-1], ref, rtol=1e-12)
    assert np.all(u[[0, -1], :] == 0) and np.all(u[:, [0, -1]] == 0)
    np.testing.assert_allclose(u, u.T, atol=1e-14)  # symmetric data, symmetric solution


def test_invalid_arguments():
    with pytest.raises(ValueError, match="cells per axis"):
        darcy_fv(a_smooth, 1.0, 1)
    with pytest.raises(ValueError, match="> 0"):
        darcy_fv(lambda x, y: x - 0.5, 1.0, 8)
