"""Finite-element references in three dimensions: a box minus balls (scikit-fem, P2 on
curved tetrahedra), Neumann screened Poisson.

Mesh (:func:`box_mesh`): nodes on the box's faces (a square lattice of spacing ``h``), on
every sphere (a Fibonacci lattice of about ``4 pi r^2 / (0.8 h^2)`` points), and a cubic
lattice of spacing ``h`` inside, jittered by up to ``0.15 h`` per coordinate (a seeded draw:
lattice points are cospherical, which Delaunay meshes turn into flat tetrahedra), keeping only
the lattice points farther than ``0.5 h`` from the faces and ``0.6 h`` from the spheres.
Their Delaunay tetrahedralisation (``scipy.spatial.Delaunay``) minus the tetrahedra whose
centroid lies in a ball, and minus the flat ones that the coplanar face lattices leave on the
box's faces (volume below ``1e-9`` of the largest; on a face they cover nothing), is the
straight mesh. It is made quadratic (``MeshTet2``) with the midpoint of every edge joining
two points of one sphere moved onto that sphere, so the isoparametric P2 solution sees the
spheres up to ``O(h^3)``.

Problem (:func:`neumann_screened_poisson`): ``-lap u + k2(x) u = f`` with ``du/dn = 0`` on
the whole boundary (the natural condition of the weak form), ``k2 > 0`` evaluated at the
quadrature points (it may jump inside elements), P2 elements, solved by conjugate gradients
with a Jacobi preconditioner (``scipy.sparse.linalg.cg``; the mass term keeps the system
well conditioned, a few hundred iterations). Evaluate the solution with
:func:`kanpde.pde.reference.fem.evaluate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse.linalg as spla
from scipy.spatial import Delaunay
from skfem import Basis, BilinearForm, ElementTetP2, LinearForm, MeshTet1, MeshTet2, asm
from skfem.helpers import dot, grad

from kanpde.pde.reference.fem import quiet

BallSpec = tuple[float, float, float, float]  # (cx, cy, cz, r)
PointFunction = Callable[[np.ndarray], np.ndarray]  # (3, ...) coordinates -> values


def box_mesh(lo: Sequence[float], hi: Sequence[float], balls: Sequence[BallSpec], h: float,
             seed: int = 0) -> MeshTet2:
    """The quadratic tetrahedral mesh of ``[lo, hi]`` minus the balls (module docstring)."""
    if not (h > 0 and math.isfinite(h)):
        raise ValueError(f"mesh size h must be finite and > 0, got {h!r}")
    lo_a, hi_a = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    counts = np.maximum(1, np.ceil((hi_a - lo_a) / h).astype(int))
    axes = [np.linspace(lo_a[d], hi_a[d], counts[d] + 1) for d in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    on_face = np.any(np.isclose(grid, lo_a) | np.isclose(grid, hi_a), axis=1)
    rng = np.random.default_rng(seed)
    inner = grid[~on_face] + rng.uniform(-0.15, 0.15, (int((~on_face).sum()), 3)) * h
    keep = np.all((inner - lo_a > 0.5 * h) & (hi_a - inner > 0.5 * h), axis=1)
    nodes = [grid[on_face]]
    for cx, cy, cz, r in balls:
        centre = np.array([cx, cy, cz])
        keep &= np.linalg.norm(inner - centre, axis=1) > r + 0.6 * h
        nodes.append(_sphere_points(centre, r, max(20, math.ceil(4 * math.pi * r**2
                                                                 / (0.8 * h**2)))))
    p = np.concatenate(nodes + [inner[keep]])
    t = Delaunay(p).simplices
    outside = np.ones(len(t), dtype=bool)
    centroid = p[t].mean(axis=1)
    for cx, cy, cz, r in balls:
        outside &= np.linalg.norm(centroid - np.array([cx, cy, cz]), axis=1) > r
    t = t[outside]
    volume = np.abs(np.linalg.det(p[t[:, 1:]] - p[t[:, :1]])) / 6
    t = t[volume > 1e-9 * volume.max()]
    used = np.unique(t)
    index = np.full(len(p), -1)
    index[used] = np.arange(len(used))
    straight = MeshTet1(np.ascontiguousarray(p[used].T), np.ascontiguousarray(index[t].T))
    return _curve_edges(MeshTet2.from_mesh(straight), balls)


def neumann_screened_poisson(mesh: MeshTet2, k2: PointFunction, source: PointFunction,
                             rtol: float = 1e-11) -> tuple[Basis, np.ndarray]:
    """P2 solution of ``-lap u + k2 u = f``, ``du/dn = 0``: ``(basis, dofs)``."""
    with quiet():  # scikit-fem logs every basis at INFO
        basis = Basis(mesh, ElementTetP2())

    @BilinearForm
    def a(u, v, w):
        return dot(grad(u), grad(v)) + k2(w.x) * u * v

    @LinearForm
    def rhs(v, w):
        return source(w.x) * v

    with quiet():
        A, b = asm(a, basis).tocsr(), asm(rhs, basis)
    diag = A.diagonal()
    jacobi = spla.LinearOperator(A.shape, matvec=lambda v: v / diag, dtype=np.float64)
    u, info = spla.cg(A, b, rtol=rtol, maxiter=20 * int(math.sqrt(A.shape[0])) + 1000,
                      M=jacobi)
    if info != 0:
        raise FloatingPointError(f"conjugate gradients did not converge to rtol={rtol} "
                                 f"(info {info}, {A.shape[0]} unknowns)")
    return basis, u


def _sphere_points(centre: np.ndarray, r: float, n: int) -> np.ndarray:
    """``n`` nearly uniform points of a sphere (a Fibonacci lattice): ``(n, 3)``."""
    i = np.arange(n) + 0.5
    polar = np.arccos(1 - 2 * i / n)
    azimuth = math.pi * (1 + math.sqrt(5)) * i
    unit = np.stack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar),
                     np.cos(polar)], axis=1)
    return centre + r * unit


def _curve_edges(mesh: MeshTet2, balls: Sequence[BallSpec]) -> MeshTet2:
    """Move the midpoint node of each edge whose ends lie on one sphere onto it."""
    doflocs = mesh.doflocs.copy()
    ends = mesh.edges  # (2, E)
    for cx, cy, cz, r in balls:
        c = np.array([[cx], [cy], [cz]])
        on = np.ones(ends.shape[1], dtype=bool)
        for k in (0, 1):
            on &= np.abs(np.linalg.norm(doflocs[:, ends[k]] - c, axis=0) - r) < 1e-9 * max(1, r)
        mid = mesh.nvertices + np.flatnonzero(on)
        v = doflocs[:, mid] - c
        doflocs[:, mid] = c + r * v / np.linalg.norm(v, axis=0)
    return MeshTet2(np.ascontiguousarray(doflocs), np.ascontiguousarray(mesh.t))
