"""Finite-element reference for the heat equation with Robin conditions on a plate with holes
(scikit-fem, P2 isoparametric elements on :func:`kanpde.pde.reference.fem.plate_mesh`).

    u_t = lap u   in the domain,     du/dn + alpha u = g   on the boundary,   u(x, 0) = u0,

``g`` a function of the boundary position (e.g. a different value on each circle). The weak
form ``M u' + (K + B) u = b`` (mass ``M``, stiffness ``K``, boundary mass ``B = alpha int u v``,
boundary load ``b = int g v``) is integrated by BDF2 with a constant step ``dt`` (the first
step by backward Euler), each step one solve with a sparse LU factorization computed once;
the solution is stored at the output times (multiples of ``dt``). The error is
``O(dt^2 + h^3)`` for compatible data; with ``u0`` not meeting the boundary condition the
first steps carry an initial layer whose error decays with time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.sparse.linalg import splu
from skfem import Basis, BilinearForm, ElementTriP2, FacetBasis, LinearForm, MeshTri2, asm

from kanpde.pde.reference.fem import quiet

PointFunction = Callable[[np.ndarray], np.ndarray]  # (2, ...) coordinates -> values


def heat_robin(mesh: MeshTri2, alpha: float, target: PointFunction, u0: float,
               times: Sequence[float], dt: float) -> tuple[Basis, np.ndarray]:
    """The solution's degrees of freedom at each of ``times`` (non-negative multiples of
    ``dt``): ``(basis, U (len(times), N))``."""
    times = np.asarray(times, dtype=np.float64)
    steps = np.rint(times / dt).astype(int)
    scale = max(1.0, float(np.abs(times).max()))
    if np.any(np.abs(steps * dt - times) > 1e-9 * scale) or np.any(steps < 0):
        raise ValueError(f"output times must be non-negative multiples of dt = {dt}")
    with quiet():  # scikit-fem logs every basis at INFO
        basis = Basis(mesh, ElementTriP2())
        facets = FacetBasis(mesh, ElementTriP2(), facets=mesh.boundary_facets())

    @BilinearForm
    def mass(u, v, w):
        return u * v

    @BilinearForm
    def stiffness(u, v, w):
        return u.grad[0] * v.grad[0] + u.grad[1] * v.grad[1]

    @BilinearForm
    def robin(u, v, w):
        return alpha * u * v

    @LinearForm
    def load(v, w):
        return target(w.x) * v

    with quiet():
        M, K = asm(mass, basis), asm(stiffness, basis)
        B, b = asm(robin, facets), asm(load, facets)
    L = K + B
    euler = splu((M / dt + L).tocsc())
    bdf2 = splu((1.5 / dt * M + L).tocsc())
    out = np.empty((len(times), basis.N))
    prev, u = None, np.full(basis.N, float(u0))
    last = int(steps.max())
    for k in range(last + 1):
        out[steps == k] = u
        if k == last:
            break
        rhs = M @ (u / dt if prev is None else (2 * u - 0.5 * prev) / dt) + b
        prev, u = u, (euler if prev is None else bdf2).solve(rhs)
    return basis, out
