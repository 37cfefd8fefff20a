"""PINNacle's Heat2d-CG: heat conduction in a plate with many holes, Robin conditions.

On ``[-8, 8] x [-12, 12]`` minus eleven disks of radius 1 (centres ``(+-4, +-3)``,
``(+-4, +-9)``, ``(0, 0)``, ``(0, +-6)``) and six of radius 0.4 (``(+-3.2, +-6)``,
``(+-3.2, 0)``), ``t in [0, 3]``:

    u_t = u_xx + u_yy,     u(x, y, 0) = 0,
    du/dn = g - u  on the boundary:   g = 5 on the large circles, 1 on the small ones,
                                      0.1 on the outer rectangle

(``n`` the outward normal of the domain, pointing into a hole on its circle: PINNacle's
``dy/dn = g - y``, i.e. the holes are held near ``g`` by a unit heat-transfer coefficient).
Terms: ``residual``, ``initial``, ``large``, ``small``, ``outer``; weights 1. Test set: the
points of the 65 x 97 x 16 grid of the bounding box that lie in the domain; reference: P2
finite elements on a curved mesh of size ``reference_h`` with BDF2 steps ``reference_dt``
(:mod:`kanpde.pde.reference.fem_heat`; tests/problems/test_problems_pinnacle.py checks its
convergence in ``h`` and ``dt``), cached.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from torch import Tensor

from kanpde.pde import (
    Ball,
    Boundary,
    Cuboid,
    Derivatives,
    InitialValue,
    Problem,
    Robin,
    SpaceTime,
    check_positive,
)
from kanpde.pde.reference import cached_at
from kanpde.pde.reference.fem import plate_mesh, probes
from kanpde.pde.reference.fem_heat import heat_robin

SOLVER_VERSION = 1
LARGE = ((-4, -3), (4, -3), (-4, 3), (4, 3), (-4, -9), (4, -9), (-4, 9), (4, 9), (0, 0),
         (0, 6), (0, -6))
SMALL = ((-3.2, -6), (-3.2, 6), (3.2, -6), (3.2, 6), (-3.2, 0), (3.2, 0))
R_LARGE, R_SMALL = 1.0, 0.4
TARGETS = {"large": 5.0, "small": 1.0, "outer": 0.1}


def _union(centres, radius):
    out = Ball(centres[0], radius)
    for c in centres[1:]:
        out = out | Ball(c, radius)
    return out


class Heat2dCG(Problem):
    """PINNacle's Heat2d-CG (see the module docstring)."""

    name = "heat2d_cg"
    linear = True
    test_shape = (65, 97, 16)
    lo, hi = (-8.0, -12.0), (8.0, 12.0)

    def __init__(self, t_end: float = 3.0, reference_h: float = 0.1,
                 reference_dt: float = 0.005, loss_weights: Mapping[str, float] | None = None,
                 use_cache: bool = True) -> None:
        self.t_end = check_positive("t_end", t_end)
        self.reference_h = check_positive("reference_h", reference_h)
        self.reference_dt = check_positive("reference_dt", reference_dt)
        self.use_cache = bool(use_cache)
        large, small = _union(LARGE, R_LARGE), _union(SMALL, R_SMALL)
        plate = Cuboid(self.lo, self.hi) - large - small
        domain = SpaceTime(plate, self.t_end)
        super().__init__(domain, [
            InitialValue("initial", domain, 0.0),
            Robin("large", Boundary(domain, within=large), 1.0, TARGETS["large"]),
            Robin("small", Boundary(domain, within=small), 1.0, TARGETS["small"]),
            Robin("outer", Boundary(domain, without=large | small), 1.0, TARGETS["outer"]),
        ], loss_weights=loss_weights)

    def residual(self, u: Derivatives) -> Tensor:
        return u.d("t") - u.laplacian(("x", "y"))  # (N, 1)

    @property
    def disks(self) -> list[tuple[float, float, float]]:
        return ([(float(x), float(y), R_LARGE) for x, y in LARGE]
                + [(float(x), float(y), R_SMALL) for x, y in SMALL])

    def boundary_target(self, x: np.ndarray) -> np.ndarray:
        """``g`` at boundary points ``(2, ...)``: by the nearest circle or the rectangle."""
        out = np.full(x.shape[1:], TARGETS["outer"])
        for (cx, cy), r, key in [(c, R_LARGE, "large") for c in LARGE] + [
                (c, R_SMALL, "small") for c in SMALL]:
            near = np.hypot(x[0] - cx, x[1] - cy) < r + 1e-6
            out = np.where(near, TARGETS[key], out)
        return out

    def fem_solution(self, h: float, dt: float, times: np.ndarray, points: np.ndarray
                     ) -> np.ndarray:
        """The finite-element solution at spatial ``points`` ``(m, 2)`` for each of ``times``:
        ``(len(times), m)``."""
        mesh = plate_mesh(self.lo, self.hi, self.disks, h)
        basis, U = heat_robin(mesh, 1.0, self.boundary_target, 0.0, times, dt)
        return np.asarray(U @ probes(basis, points).T)

    def reference_at(self, coords: np.ndarray) -> np.ndarray:
        def compute(coords: np.ndarray) -> np.ndarray:
            times, t_index = np.unique(coords[:, 2], return_inverse=True)
            space, s_index = np.unique(coords[:, :2], axis=0, return_inverse=True)
            values = self.fem_solution(self.reference_h, self.reference_dt, times, space)
            return values[t_index.ravel(), s_index.ravel()]

        params = {"version": SOLVER_VERSION, "task": self.name, "h": self.reference_h,
                  "dt": self.reference_dt}
        return cached_at(f"pinnacle_{self.name}", params, coords, compute,
                         self.use_cache).reshape(-1, 1)
