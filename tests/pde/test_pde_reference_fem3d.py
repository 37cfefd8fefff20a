"""The 3-D finite-element reference: the box-minus-balls mesh (volume, curved edges on the
spheres), third-order convergence of the Neumann screened Poisson solver against an exact
solution, and the convergence of the Poisson3d-CG reference itself (float64)."""

from __future__ import annotations

import math

import numpy as np
from kanpde.problems.pinnacle.solid import Poisson3dCG
from skfem import MeshTet1, MeshTet2

from kanpde.pde.reference.fem import evaluate
from kanpde.pde.reference.fem3d import box_mesh, neumann_screened_poisson

BALLS = ((0.4, 0.3, 0.6, 0.2), (0.6, 0.7, 0.6, 0.2), (0.2, 0.8, 0.7, 0.1), (0.6, 0.2, 0.3, 0.1))


def _volume(mesh) -> float:
    p = mesh.doflocs[:, : mesh.nvertices].T[mesh.t.T]  # (M, 4, 3)
    return float(np.abs(np.linalg.det(p[:, 1:] - p[:, :1])).sum() / 6)


def test_mesh_fills_the_domain_and_its_sphere_edges_are_curved():
    exact = 1 - sum(4 / 3 * math.pi * r**3 for *_, r in BALLS)
    gaps = []
    for h in (0.1, 0.05):
        mesh = box_mesh((0, 0, 0), (1, 1, 1), BALLS, h)
        gaps.append(_volume(mesh) - exact)  # straight tetrahedra: the chords cut into balls
        straight = MeshTet2.from_mesh(MeshTet1(
            np.ascontiguousarray(mesh.doflocs[:, : mesh.nvertices]), mesh.t))
        moved = np.linalg.norm(mesh.doflocs - straight.doflocs, axis=0) > 1e-12
        assert not moved[: mesh.nvertices].any() and moved.sum() > 100
        for cx, cy, cz, r in BALLS:  # every moved midpoint on a sphere
            d = np.linalg.norm(mesh.doflocs[:, moved].T - [cx, cy, cz], axis=1)
            moved[np.flatnonzero(moved)[np.abs(d - r) < 1e-12]] = False
        assert not moved.any()
    assert 0 < gaps[1] < gaps[0] / 3, gaps  # O(h^2)


def test_neumann_solver_is_third_order_on_an_exact_solution():
    """u = cos(pi x) cos(2 pi y) cos(pi z) has du/dn = 0 on the cube's faces; with k2 = 9,
    f = (6 pi^2 + 9) u. Errors at points fall by nearly 2^3 from h = 0.2 to 0.1."""

    def exact(x):
        return np.cos(np.pi * x[0]) * np.cos(2 * np.pi * x[1]) * np.cos(np.pi * x[2])

    pts = np.random.default_rng(0).random((2000, 3))
    errs = []
    for h in (0.2, 0.1):
        mesh = box_mesh((0, 0, 0), (1, 1, 1), (), h)
        basis, u = neumann_screened_poisson(mesh, lambda x: 9.0 + 0 * x[0],
                                            lambda x: (6 * np.pi**2 + 9) * exact(x))
        errs.append(np.sqrt(np.mean((evaluate(basis, u, pts) - exact(pts.T)) ** 2)))
    assert errs[1] < 2e-3 and errs[0] / errs[1] > 6, errs


def test_poisson3d_cg_reference_converges():
    """Successive P2 solutions on h = 0.1, 0.07, 0.05 approach each other (the differences
    shrink by more than the second-order factor (0.1/0.07)^2 ~ 2)."""
    p = Poisson3dCG(use_cache=False)
    pts = np.random.default_rng(1).random((3000, 3))
    pts = pts[np.all([np.linalg.norm(pts - b[:3], axis=1) > b[3] + 0.02 for b in BALLS], axis=0)]
    sols = [p.fem_solution(h)(pts) for h in (0.1, 0.07, 0.05)]
    d1 = np.linalg.norm(sols[0] - sols[1]) / np.linalg.norm(sols[2])
    d2 = np.linalg.norm(sols[1] - sols[2]) / np.linalg.norm(sols[2])
    assert d2 < 1e-2 and d1 / d2 > 2, (d1, d2)
