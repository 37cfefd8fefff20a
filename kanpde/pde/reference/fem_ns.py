"""Finite-element reference for the steady incompressible Navier-Stokes equations (scikit-fem):

    (u . grad) u + grad p - nu lap u = 0,     div u = 0     in a polygonal domain,

Taylor-Hood elements (P2 velocity, P1 pressure), velocity given on the Dirichlet boundary
(``velocity(x) -> (2, ...)`` at the boundary degrees of freedom of the parts ``walls``
selects), the pressure fixed at the given nodes (one point when the velocity is given on the
whole boundary; an outflow edge otherwise, where the weak form's natural condition is
``nu du/dn - p n = 0``, the "do-nothing" outflow). Newton's method from the Stokes solution:
with the convection ``c(U, V) = (U . grad) V``, each iteration solves

    nu K U' + c(U, U') + c(U', U) - B^T P' = c(U, U),    B U' = 0

for the new iterate ``(U', P')`` (the quadratic term makes ``c(U, U)`` the exact Newton
right-hand side) with a sparse direct solve, until the update is below ``tol``. The error is
``O(h^3)`` in the velocity and ``O(h^2)`` in the pressure for smooth solutions
(tests/pde/test_pde_reference_fem_ns.py checks the velocity order against Kovasznay flow).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve
from skfem import (
    Basis,
    BilinearForm,
    ElementTriP1,
    ElementTriP2,
    ElementVector,
    LinearForm,
    MeshTri,
    asm,
)
from skfem.helpers import ddot, div, dot, grad, mul

from kanpde.pde.reference.fem import quiet

VectorFunction = Callable[[np.ndarray], np.ndarray]  # (2, n) points -> (2, n) velocity


def rectangle_mesh(lo: tuple[float, float], hi: tuple[float, float], h: float,
                   removed: tuple[tuple[float, float], tuple[float, float]] | None = None
                   ) -> MeshTri:
    """A uniform triangle mesh of the rectangle ``[lo, hi]`` (cells of size about ``h``),
    without the cells inside the rectangle ``removed = (lo', hi')`` (a back step)."""
    nx = max(2, int(round((hi[0] - lo[0]) / h)))
    ny = max(2, int(round((hi[1] - lo[1]) / h)))
    mesh = MeshTri.init_tensor(np.linspace(lo[0], hi[0], nx + 1),
                               np.linspace(lo[1], hi[1], ny + 1))
    if removed is not None:
        (a0, b0), (a1, b1) = removed
        c = mesh.p[:, mesh.t].mean(axis=1)
        inside = (c[0] > a0) & (c[0] < a1) & (c[1] > b0) & (c[1] < b1)
        mesh = mesh.remove_elements(np.flatnonzero(inside))
    return mesh


def navier_stokes(mesh: MeshTri, nu: float, velocity: VectorFunction,
                  walls: Callable[[np.ndarray], np.ndarray],
                  pressure_nodes: Callable[[np.ndarray], np.ndarray],
                  tol: float = 1e-11, max_iter: int = 30
                  ) -> tuple[Basis, np.ndarray, Basis, np.ndarray]:
    """``(velocity basis, U, pressure basis, P)``: the converged Newton iterate.

    ``walls(x)`` ``(2, n) -> (n,)`` bool selects the boundary points where the velocity is
    given; ``pressure_nodes(x)`` the pressure nodes set to 0."""
    with quiet():  # scikit-fem logs every basis at INFO
        ub = Basis(mesh, ElementVector(ElementTriP2()), intorder=4)
        pb = Basis(mesh, ElementTriP1(), intorder=4)

    @BilinearForm
    def viscous(u, v, w):
        return nu * ddot(grad(u), grad(v))

    @BilinearForm
    def divergence(u, q, w):
        return div(u) * q

    @BilinearForm
    def convection(u, v, w):
        U = w["U"]
        return dot(mul(grad(u), U), v) + dot(mul(grad(U), u), v)

    @LinearForm
    def convection_rhs(v, w):
        U = w["U"]
        return dot(mul(grad(U), U), v)

    with quiet():
        K = asm(viscous, ub)
        B = asm(divergence, ub, pb)
    nu_, np_ = ub.N, pb.N
    # Dirichlet dofs: velocity on the selected boundary, pressure at the pinned nodes
    bdofs = ub.get_dofs(facets=mesh.facets_satisfying(lambda x: walls(x), boundaries_only=True))
    values = np.zeros(nu_)
    parts = []
    for k, name in enumerate(("u^1", "u^2")):  # the x and y components
        dofs = np.concatenate([bdofs.nodal[name], bdofs.facet[name]])
        values[dofs] = velocity(ub.doflocs[:, dofs])[k]
        parts.append(dofs)
    D_u = np.concatenate(parts)
    D_p = nu_ + np.flatnonzero(pressure_nodes(pb.doflocs))
    D = np.concatenate([D_u, D_p])
    x = np.zeros(nu_ + np_)
    x[:nu_] = values

    def solve(matrix: sp.spmatrix, rhs: np.ndarray) -> np.ndarray:
        free = np.setdiff1d(np.arange(nu_ + np_), D)
        A = matrix.tocsr()
        b = rhs - A @ x
        out = x.copy()
        out[free] = spsolve(A[free][:, free].tocsc(), b[free])
        return out

    zero = sp.csr_matrix((np_, np_))
    stokes = sp.bmat([[K, -B.T], [-B, zero]])
    sol = solve(stokes, np.zeros(nu_ + np_))
    for _ in range(max_iter):
        U = ub.interpolate(sol[:nu_])
        with quiet():
            C = asm(convection, ub, U=U)
            c = asm(convection_rhs, ub, U=U)
        new = solve(sp.bmat([[K + C, -B.T], [-B, zero]]), np.concatenate([c, np.zeros(np_)]))
        step = np.abs(new - sol).max()
        sol = new
        if step < tol * max(1.0, np.abs(sol).max()):
            return ub, sol[:nu_], pb, sol[nu_:]
    raise RuntimeError(f"Newton's method did not converge in {max_iter} iterations "
                       f"(last update {step:.2e})")

