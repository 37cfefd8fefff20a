"""Finite-element references for elliptic problems on plates with circular holes
(scikit-fem), and the meshes they need.

Mesh (:func:`plate_mesh`): the rectangle ``[lo, hi]`` minus disks. Nodes are the rectangle's
edges and every circle at spacing ``h``, and a triangular lattice of spacing ``h`` in the
domain (lattice nodes closer than ``0.6 h`` to a boundary dropped); their Delaunay
triangulation (``scipy.spatial.Delaunay``) without the triangles whose centroid lies in a
hole is the straight-sided mesh. It is made quadratic (scikit-fem's ``MeshTri2``) with the
midpoint of every edge on a circle moved onto that circle, so the isoparametric P2 solution
sees the exact geometry up to ``O(h^3)``.

Problem (:func:`screened_poisson`): ``-div(mu grad u) + k2 u = f`` in the domain with
``u = g`` on the boundary (``mu``, ``k2`` constants), P2 elements, the Dirichlet values
interpolated at the boundary degrees of freedom, the linear system solved by a sparse
direct factorization. The solution is evaluated anywhere in the mesh with the basis's
probes (:func:`evaluate`). With a smooth solution the L2 error is ``O(h^3)``
(tests/pde/test_pde_reference_fem.py checks the order against an exact solution).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from scipy.spatial import Delaunay, cKDTree
from skfem import Basis, BilinearForm, ElementTriP2, LinearForm, MeshTri1, MeshTri2, asm, condense
from skfem import solve as fem_solve
from skfem.helpers import dot, grad

Disk = tuple[float, float, float]  # (cx, cy, r)
PointFunction = Callable[[np.ndarray], np.ndarray]  # (2, ...) coordinates -> values


def plate_mesh(lo: Sequence[float], hi: Sequence[float], holes: Sequence[Disk],
               h: float) -> MeshTri2:
    """The quadratic triangle mesh of ``[lo, hi]`` minus the disks (see the module docstring)."""
    (x0, y0), (x1, y1) = lo, hi
    if not (h > 0 and math.isfinite(h)):
        raise ValueError(f"mesh size h must be finite and > 0, got {h!r}")
    nodes = [_segment((x0, y0), (x1, y0), h), _segment((x1, y0), (x1, y1), h),
             _segment((x1, y1), (x0, y1), h), _segment((x0, y1), (x0, y0), h)]
    for cx, cy, r in holes:
        m = max(8, math.ceil(2 * math.pi * r / h))
        a = 2 * math.pi * np.arange(m) / m
        nodes.append(np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], axis=1))
    # a triangular lattice inside, away from every boundary
    dy = h * math.sqrt(3) / 2
    ys = np.arange(y0 + dy, y1 - 0.3 * h, dy)
    rows = [np.stack([np.arange(x0 + (0.5 * h if i % 2 else h), x1 - 0.3 * h, h),
                      np.full(len(np.arange(x0 + (0.5 * h if i % 2 else h), x1 - 0.3 * h, h)),
                              y)], axis=1) for i, y in enumerate(ys)]
    inner = np.concatenate(rows)
    keep = ((inner[:, 0] - x0 > 0.6 * h) & (x1 - inner[:, 0] > 0.6 * h)
            & (inner[:, 1] - y0 > 0.6 * h) & (y1 - inner[:, 1] > 0.6 * h))
    for cx, cy, r in holes:
        keep &= np.hypot(inner[:, 0] - cx, inner[:, 1] - cy) > r + 0.6 * h
    p = _unique(np.concatenate(nodes + [inner[keep]]))
    t = Delaunay(p).simplices
    centroid = p[t].mean(axis=1)
    inside = np.ones(len(t), dtype=bool)
    for cx, cy, r in holes:
        inside &= np.hypot(centroid[:, 0] - cx, centroid[:, 1] - cy) > r
    straight = MeshTri1(np.ascontiguousarray(p.T), np.ascontiguousarray(t[inside].T))
    mesh = MeshTri2.from_mesh(straight)
    return _curve_edges(mesh, holes)


def screened_poisson(mesh: MeshTri2, mu: float, k2: float, source: PointFunction,
                     boundary_value: PointFunction) -> tuple[Basis, np.ndarray]:
    """P2 solution of ``-mu lap u + k2 u = f``, ``u = g`` on the boundary: ``(basis, dofs)``."""
    with quiet():  # scikit-fem logs every basis at INFO
        basis = Basis(mesh, ElementTriP2())

    @BilinearForm
    def a(u, v, w):
        return mu * dot(grad(u), grad(v)) + k2 * u * v

    @LinearForm
    def rhs(v, w):
        return source(w.x) * v

    with quiet():
        A, b = asm(a, basis), asm(rhs, basis)
        boundary = basis.get_dofs().all()
        x = np.zeros(basis.N)
        x[boundary] = boundary_value(basis.doflocs[:, boundary])
        return basis, fem_solve(*condense(A, b, x=x, D=boundary))


def probes(basis: Basis, points: np.ndarray) -> sp.csr_matrix:
    """The sparse matrix ``(n, N)`` that evaluates a finite-element function (its ``N``
    degrees of freedom) at points ``(n, d)`` of the domain (``d`` = 2 or 3).

    Each point's element is found on the straight-sided mesh (whose simplices contain the
    curved ones' part of the domain: an arc or a sphere bounding a hole bulges into the
    straight element), then
    the isoparametric map is inverted there and the basis evaluated (what scikit-fem's
    ``probes`` does on affine meshes).
    """
    x = np.asarray(points, dtype=np.float64).T  # (d, n)
    mesh = basis.mesh
    cells, start = locate(mesh.doflocs[:, : mesh.nvertices], mesh.t, x.T)
    ref = _inverse_map(basis, x, cells, start.T)
    rows, cols, vals = [], [], []
    for k in range(basis.Nbfun):
        vals.append(np.asarray(basis.elem.gbasis(basis.mapping, ref, k, tind=cells)[0])[:, 0])
        rows.append(np.arange(x.shape[1]))
        cols.append(basis.element_dofs[k, cells])
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(x.shape[1], basis.N))


def _inverse_map(basis: Basis, x: np.ndarray, cells: np.ndarray, start: np.ndarray
                 ) -> np.ndarray:
    """Reference coordinates ``(d, n, 1)`` of points ``x`` ``(d, n)`` in ``cells`` by Newton's
    method on the element map, from the straight simplex's coordinates ``start``
    (exact for affine elements, within ``O(h)`` of the answer for curved ones)."""
    ref = start[:, :, None].copy()
    target = x[:, :, None]
    tol = 1e-12 * max(1.0, float(np.abs(x).max()))
    for _ in range(30):
        miss = target - basis.mapping.F(ref, cells)
        if np.abs(miss).max() < tol:  # (steps can stall at rounding level in flat elements)
            return ref
        ref = ref + np.einsum("ijkl,jkl->ikl", basis.mapping.invDF(ref, cells), miss)
    raise FloatingPointError("the inverse element map did not converge (a degenerate element)")


def evaluate(basis: Basis, u: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The finite-element function with degrees of freedom ``u`` at points ``(n, d)``."""
    return probes(basis, points) @ u


def find_cells(p: np.ndarray, t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The index of a simplex of ``t`` ``(d + 1, M)`` (vertices ``p`` ``(d, V)``: triangles in
    2-D, tetrahedra in 3-D) containing each point ``x`` ``(n, d)``, among the ``k`` with the
    nearest centroids (k = 8, then 64), by barycentric coordinates: ``(n,)``; ValueError for a
    point outside the mesh."""
    return locate(p, t, x)[0]


def locate(p: np.ndarray, t: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`find_cells` and the reference coordinates of each point in its straight
    simplex (``(n, d)``: the coefficients of the edges from the simplex's first vertex)."""
    dim = p.shape[0]
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"points must have shape (n, {dim}), got {x.shape}")
    corners = p[:, t]  # (d, d + 1, M)
    origin = corners[:, 0, :]  # (d, M)
    edges = np.transpose(corners[:, 1:, :] - origin[:, None, :], (2, 0, 1))  # (M, d, d)
    det = np.linalg.det(edges)
    inverse = np.zeros_like(edges)
    good = np.abs(det) > 1e-14 * np.abs(det).max()
    inverse[good] = np.linalg.inv(edges[good])
    tree = cKDTree(corners.mean(axis=1).T)
    cells = np.full(len(x), -1)
    ref = np.zeros(x.shape)
    for k in (8, 64):
        todo = np.flatnonzero(cells < 0)
        if len(todo) == 0:
            break
        _, cand = tree.query(x[todo], k=min(k, t.shape[1]))
        cand = cand.reshape(len(todo), -1)  # (n, k)
        rel = x[todo][:, None, :] - origin.T[cand]  # (n, k, d)
        lam = np.einsum("nkij,nkj->nki", inverse[cand], rel)  # (n, k, d)
        tol = 1e-10
        inside = (np.all(lam >= -tol, axis=2) & (1 - lam.sum(axis=2) >= -tol)
                  & good[cand])
        found = inside.any(axis=1)
        pick = inside[found].argmax(axis=1)
        cells[todo[found]] = cand[found, pick]
        ref[todo[found]] = lam[found, pick]
    if np.any(cells < 0):
        first = x[np.flatnonzero(cells < 0)[0]]
        raise ValueError(f"{int((cells < 0).sum())} points lie outside the mesh (first: {first})")
    return cells, ref


@contextmanager
def quiet() -> Iterator[None]:
    """scikit-fem logs every assembly and solve at INFO; keep those lines out of a run's log."""
    logger = logging.getLogger("skfem")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _segment(a: Sequence[float], b: Sequence[float], h: float) -> np.ndarray:
    m = max(1, math.ceil(math.hypot(b[0] - a[0], b[1] - a[1]) / h))
    s = np.arange(m) / m
    return np.stack([a[0] + s * (b[0] - a[0]), a[1] + s * (b[1] - a[1])], axis=1)


def _unique(p: np.ndarray) -> np.ndarray:
    _, index = np.unique(np.round(p, 12), axis=0, return_index=True)
    return p[np.sort(index)]


def _curve_edges(mesh: MeshTri2, holes: Sequence[Disk]) -> MeshTri2:
    """Move the midpoint node of each boundary edge whose ends lie on a circle onto it."""
    doflocs = mesh.doflocs.copy()
    nv = mesh.nvertices
    for e in mesh.boundary_facets():
        i, j = mesh.facets[:, e]
        for cx, cy, r in holes:
            c = np.array([cx, cy])
            if all(abs(np.linalg.norm(doflocs[:, k] - c) - r) < 1e-9 * max(1.0, r) for k in (i, j)):
                mid = doflocs[:, nv + e] - c
                doflocs[:, nv + e] = c + r * mid / np.linalg.norm(mid)
                break
    return MeshTri2(np.ascontiguousarray(doflocs), np.ascontiguousarray(mesh.t))
