"""Elliptic PINNacle tasks on plates with circular holes (2-D), references by P2 finite
elements on curved meshes (:mod:`kanpde.pde.reference.fem`).

``poisson2d_c`` (PINNacle's Poisson2d-C): Laplace's equation on
``[-0.5, 0.5]^2`` minus four disks of radius 0.1 centred at ``(+-0.3, +-0.3)``,

    u_xx + u_yy = 0,      u = 1 on the square,      u = 0 on the circles.

``poisson2d_cg`` (PINNacle's Poisson2d-CG, a Poisson-Boltzmann/screened-Poisson equation):
on ``[-1, 1]^2`` minus the disks ``(0.5, 0.5; 0.2)``, ``(0.4, -0.4; 0.4)``,
``(-0.2, -0.7; 0.1)``, ``(-0.6, 0.5; 0.3)`` (centre; radius),

    -(u_xx + u_yy) + k^2 u = f,     f = A (mu1^2 + x^2 + mu2^2 + y^2) sin(mu1 pi x) sin(mu2 pi y),
    u = 0.2 on the square,  u = 1 on the circles,   k = 8, A = 10, (mu1, mu2) = (1, 4).

Terms: ``residual``, ``outer`` (the square), ``holes`` (the circles); weights 1. Test set: the
points of a 201 x 201 grid of the bounding square that lie in the domain; reference: the
P2 isoparametric solution on a mesh of size ``reference_h`` (third-order accurate,
tests/problems/test_pinnacle_plates.py checks its convergence), cached.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from kanpde.pde import Ball, Boundary, Cuboid, Derivatives, Dirichlet, Problem, check_positive
from kanpde.pde.reference import cached_at
from kanpde.pde.reference.fem import evaluate, plate_mesh, screened_poisson

PI = math.pi
SOLVER_VERSION = 1


class Plate(Problem):
    """``-mu lap u + k^2 u = f`` on a rectangle minus disks, Dirichlet on both boundaries."""

    linear = True
    test_shape = (201, 201)
    lo: tuple[float, float]
    hi: tuple[float, float]
    disks: tuple[tuple[float, float, float], ...]
    outer_value: float
    hole_value: float
    k: float = 0.0

    def __init__(self, reference_h: float, loss_weights: Mapping[str, float] | None,
                 use_cache: bool) -> None:
        self.reference_h = check_positive("reference_h", reference_h)
        self.use_cache = bool(use_cache)
        holes = Ball(self.disks[0][:2], self.disks[0][2])
        for cx, cy, r in self.disks[1:]:
            holes = holes | Ball((cx, cy), r)
        plate = Cuboid(self.lo, self.hi) - holes
        self.holes = holes
        super().__init__(plate, [
            Dirichlet("outer", Boundary(plate, without=holes), self.outer_value),
            Dirichlet("holes", Boundary(plate, within=holes), self.hole_value),
        ], loss_weights=loss_weights)

    def source(self, x: Tensor | np.ndarray, y: Tensor | np.ndarray, lib=torch):
        """``f`` at coordinates (torch or numpy: ``lib``)."""
        return 0 * x

    def residual(self, u: Derivatives) -> Tensor:
        f = self.source(u.x("x"), u.x("y"))
        return -u.laplacian() + self.k**2 * u.value - f  # (N, 1)

    def reference_at(self, coords: np.ndarray) -> np.ndarray:
        return fem_reference(self, coords)

    def fem_solution(self, h: float) -> Callable[[np.ndarray], np.ndarray]:
        """The finite-element solution on a mesh of size ``h``, as a function of points."""
        mesh = plate_mesh(self.lo, self.hi, self.disks, h)
        on_outer = _on_rectangle(self.lo, self.hi)

        def boundary(x: np.ndarray) -> np.ndarray:
            return np.where(on_outer(x), self.outer_value, self.hole_value)

        basis, u = screened_poisson(mesh, 1.0, self.k**2,
                                    lambda x: self.source(x[0], x[1], np), boundary)
        return lambda pts: evaluate(basis, u, pts)


class Poisson2dC(Plate):
    """PINNacle's Poisson2d-C (see the module docstring)."""

    name = "poisson2d_c"
    lo, hi = (-0.5, -0.5), (0.5, 0.5)
    disks = tuple((sx * 0.3, sy * 0.3, 0.1) for sx in (1, -1) for sy in (1, -1))
    outer_value, hole_value = 1.0, 0.0

    def __init__(self, reference_h: float = 0.004,
                 loss_weights: Mapping[str, float] | None = None,
                 use_cache: bool = True) -> None:
        super().__init__(reference_h, loss_weights, use_cache)


class Poisson2dCG(Plate):
    """PINNacle's Poisson2d-CG (see the module docstring)."""

    name = "poisson2d_cg"
    lo, hi = (-1.0, -1.0), (1.0, 1.0)
    disks = ((0.5, 0.5, 0.2), (0.4, -0.4, 0.4), (-0.2, -0.7, 0.1), (-0.6, 0.5, 0.3))
    outer_value, hole_value = 0.2, 1.0
    k = 8.0
    amplitude, mu = 10.0, (1.0, 4.0)

    def __init__(self, reference_h: float = 0.008,
                 loss_weights: Mapping[str, float] | None = None,
                 use_cache: bool = True) -> None:
        super().__init__(reference_h, loss_weights, use_cache)

    def source(self, x, y, lib=torch):
        m1, m2 = self.mu
        return self.amplitude * (m1**2 + x**2 + m2**2 + y**2) * lib.sin(m1 * PI * x) * lib.sin(
            m2 * PI * y)


def fem_reference(problem, coords: np.ndarray) -> np.ndarray:
    """``problem.fem_solution(problem.reference_h)`` at ``coords`` ``(n, d)``, cached under the
    task name, the mesh size and :data:`SOLVER_VERSION`: ``(n, 1)``."""
    params = {"version": SOLVER_VERSION, "task": problem.name, "h": problem.reference_h}
    u = cached_at(f"pinnacle_{problem.name}", params, coords,
                  problem.fem_solution(problem.reference_h), problem.use_cache)
    return u.reshape(-1, 1)


def _on_rectangle(lo: Sequence[float], hi: Sequence[float]) -> Callable[[np.ndarray], np.ndarray]:
    def on(x: np.ndarray) -> np.ndarray:  # x (2, n)
        d = np.minimum.reduce([np.abs(x[0] - lo[0]), np.abs(x[0] - hi[0]),
                               np.abs(x[1] - lo[1]), np.abs(x[1] - hi[1])])
        return d < 1e-9
    return on
