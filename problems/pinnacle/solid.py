"""PINNacle's Poisson3d-CG: screened Poisson in the unit cube minus four balls.

On ``[0, 1]^3`` minus the balls ``(0.4, 0.3, 0.6; 0.2)``, ``(0.6, 0.7, 0.6; 0.2)``,
``(0.2, 0.8, 0.7; 0.1)``, ``(0.6, 0.2, 0.3; 0.1)`` (centre; radius),

    -lap u + k(z)^2 u = f,    k = 8 for z < 1/2,  k = 10 for z >= 1/2,
    f = 20 exp(sin(pi x) + sin(10 pi y) + sin(5 pi z)) (|x|^2 - 1) / (|x|^2 + 1)
        + 100 sin(pi x) sin(10 pi y) sin(5 pi z),
    du/dn = 0 on the whole boundary (the cube's faces and the spheres).

Terms ``residual``, ``boundary``. The coefficient is a
:class:`~kanpde.pde.fields.PiecewiseConstant` in ``z``. Test set: the points of the
41 x 41 x 41 grid in the domain. Reference: P2 finite elements on curved tetrahedra
(:mod:`kanpde.pde.reference.fem3d`) of size ``reference_h``, cached; successive meshes
converge at about second to third order (the oscillating source is not yet in the asymptotic
range on affordable meshes; measured in the tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import torch
from kanpde.problems.pinnacle.plates import fem_reference
from torch import Tensor

from kanpde.pde import (
    Ball,
    Cuboid,
    Derivatives,
    Neumann,
    PiecewiseConstant,
    Problem,
    check_positive,
)
from kanpde.pde.reference.fem import evaluate
from kanpde.pde.reference.fem3d import box_mesh, neumann_screened_poisson

PI = math.pi


class Poisson3dCG(Problem):
    """PINNacle's Poisson3d-CG (see the module docstring)."""

    name = "poisson3d_cg"
    linear = True
    test_shape = (41, 41, 41)
    balls = ((0.4, 0.3, 0.6, 0.2), (0.6, 0.7, 0.6, 0.2), (0.2, 0.8, 0.7, 0.1),
             (0.6, 0.2, 0.3, 0.1))
    wavenumber = PiecewiseConstant("z", [0.5], [8.0, 10.0])

    def __init__(self, reference_h: float = 0.03,
                 loss_weights: Mapping[str, float] | None = None, use_cache: bool = True
                 ) -> None:
        self.reference_h = check_positive("reference_h", reference_h)
        self.use_cache = bool(use_cache)
        holes = Ball(self.balls[0][:3], self.balls[0][3])
        for cx, cy, cz, r in self.balls[1:]:
            holes = holes | Ball((cx, cy, cz), r)
        solid = Cuboid((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)) - holes
        super().__init__(solid, [Neumann("boundary", solid, 0.0)], loss_weights=loss_weights)

    def source(self, x, y, z, lib=torch):
        """``f`` at coordinates (torch or numpy: ``lib``)."""
        r2 = x**2 + y**2 + z**2
        s = lib.sin
        return (20 * lib.exp(s(PI * x) + s(10 * PI * y) + s(5 * PI * z)) * (r2 - 1) / (r2 + 1)
                + 100 * s(PI * x) * s(10 * PI * y) * s(5 * PI * z))

    def residual(self, u: Derivatives) -> Tensor:
        k = self.wavenumber.at(u)
        f = self.source(u.x("x"), u.x("y"), u.x("z"))
        return -u.laplacian() + k**2 * u.value - f  # (N, 1)

    def reference_at(self, coords: np.ndarray) -> np.ndarray:
        return fem_reference(self, coords)

    def fem_solution(self, h: float) -> Callable[[np.ndarray], np.ndarray]:
        """The finite-element solution on a mesh of size ``h``, as a function of points
        ``(n, 3)`` (the mesh and the solve happen on the first call)."""
        solved: list = []

        def at(points: np.ndarray) -> np.ndarray:
            if not solved:
                mesh = box_mesh((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), self.balls, h)
                k2 = np.array(self.wavenumber.values) ** 2
                solved.extend(neumann_screened_poisson(
                    mesh, lambda x: np.where(x[2] < 0.5, k2[0], k2[1]),
                    lambda x: self.source(x[0], x[1], x[2], np)))
            return evaluate(*solved, points)

        return at
