"""Finite-difference reference for ``u_t = a(x, y) (u_xx + u_yy) + f(x, y, t)`` on ``[0, 1]^2``
with ``u = 0`` on the boundary and ``u(x, y, 0) = 0`` (the coefficient in non-divergence form,
as in PINNacle's Heat2d-VC).

Space: the five-point Laplacian on the ``(n + 1) x (n + 1)`` nodes ``(i/n, j/n)``, unknowns at
the ``(n - 1)^2`` interior nodes, ``a`` given at the nodes; ``du/dt = diag(a) L u + f``.
Time: BDF2 with constant step ``dt`` (the first step backward Euler), one sparse LU
factorization of ``1.5/dt I - diag(a) L`` for all steps. For smooth ``a``, ``f`` and ``u`` the
error is ``O(h^2 + dt^2)`` (tests/pde/test_pde_reference_heat_fd.py checks both orders).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

Source = Callable[[np.ndarray, np.ndarray, float], np.ndarray]  # (x, y, t) -> f, same shape


def heat_variable_coefficient(a: np.ndarray, source: Source, times: Sequence[float],
                              dt: float) -> np.ndarray:
    """The solution at every node for each of ``times`` (non-negative multiples of ``dt``):
    ``(len(times), n + 1, n + 1)`` indexed ``[k, i, j]`` = ``u(i/n, j/n, times[k])``;
    ``a`` ``(n + 1, n + 1)`` the coefficient at the nodes."""
    a = np.asarray(a, dtype=np.float64)
    n = a.shape[0] - 1
    if a.ndim != 2 or a.shape != (n + 1, n + 1) or n < 2:
        raise ValueError(f"a must be an (n + 1, n + 1) array of nodal values, got {a.shape}")
    times = np.asarray(times, dtype=np.float64)
    steps = np.rint(times / dt).astype(int)
    scale = max(1.0, float(np.abs(times).max()))
    if np.any(np.abs(steps * dt - times) > 1e-9 * scale) or np.any(steps < 0):
        raise ValueError(f"output times must be non-negative multiples of dt = {dt}")
    h = 1.0 / n
    m = n - 1
    d2 = sp.diags([np.ones(m - 1), -2 * np.ones(m), np.ones(m - 1)], [-1, 0, 1]) / h**2
    eye = sp.identity(m)
    lap = sp.kron(d2, eye) + sp.kron(eye, d2)  # index i * m + j (x-major)
    op = sp.diags(a[1:-1, 1:-1].ravel()) @ lap
    grid = np.linspace(0.0, 1.0, n + 1)[1:-1]
    x, y = np.meshgrid(grid, grid, indexing="ij")
    ident = sp.identity(m * m, format="csc")
    euler = splu((ident / dt - op).tocsc())
    bdf2 = splu((1.5 / dt * ident - op).tocsc())
    out = np.zeros((len(times), n + 1, n + 1))
    prev, u = None, np.zeros(m * m)
    last = int(steps.max())
    for k in range(last + 1):
        out[steps == k, 1:-1, 1:-1] = u.reshape(m, m)
        if k == last:
            break
        f = source(x, y, (k + 1) * dt).ravel()
        if prev is None:
            new = euler.solve(u / dt + f)
        else:
            new = bdf2.solve((2 * u - 0.5 * prev) / dt + f)
        prev, u = u, new
    return out
