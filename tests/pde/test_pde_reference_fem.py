"""The finite-element reference on plates with holes: third-order convergence of the P2
isoparametric solution to an exact solution, exact boundary values, point location."""

from __future__ import annotations

import numpy as np
import pytest

from kanpde.pde.reference.fem import evaluate, find_cells, plate_mesh, screened_poisson

HOLES = ((0.3, 0.3, 0.1), (-0.3, 0.3, 0.1), (0.3, -0.3, 0.15), (-0.25, -0.3, 0.1))


def exact(x):  # x (2, ...) -> u = e^x cos(3x) sin(3y)
    return np.exp(x[0]) * np.cos(3 * x[0]) * np.sin(3 * x[1])


def source(x, k2):  # -lap u + k2 u
    lap = np.exp(x[0]) * np.sin(3 * x[1]) * (-17 * np.cos(3 * x[0]) - 6 * np.sin(3 * x[0]))
    return -lap + k2 * exact(x)


def _points(n=3000):
    p = np.random.default_rng(0).uniform(-0.5, 0.5, (n, 2))
    keep = np.ones(n, dtype=bool)
    for cx, cy, r in HOLES:
        keep &= np.hypot(p[:, 0] - cx, p[:, 1] - cy) > r
    return p[keep]


@pytest.mark.parametrize("k2", [0.0, 64.0])
def test_p2_on_curved_meshes_converges_at_third_order(k2):
    pts = _points()
    errors = []
    for h in (0.04, 0.02, 0.01):
        mesh = plate_mesh((-0.5, -0.5), (0.5, 0.5), HOLES, h)
        basis, u = screened_poisson(mesh, 1.0, k2, lambda x: source(x, k2), exact)
        e = evaluate(basis, u, pts) - exact(pts.T)
        errors.append(np.linalg.norm(e) / np.linalg.norm(exact(pts.T)))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert errors[-1] < 1e-6 and np.all(orders > 2.7), (errors, orders)


def test_curved_nodes_lie_on_the_circles_and_points_are_located():
    mesh = plate_mesh((-0.5, -0.5), (0.5, 0.5), HOLES, 0.05)
    boundary = mesh.doflocs[:, mesh.boundary_nodes()]
    on_square = np.isclose(np.abs(boundary), 0.5).any(axis=0)
    dist = np.min([np.abs(np.hypot(boundary[0] - cx, boundary[1] - cy) - r)
                   for cx, cy, r in HOLES], axis=0)
    assert np.all(on_square | (dist < 1e-12))
    with pytest.raises(ValueError, match="outside the mesh"):
        find_cells(mesh.doflocs[:, : mesh.nvertices], mesh.t, np.array([[0.9, 0.9]]))
