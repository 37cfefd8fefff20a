"""PINNacle's steady Navier-Stokes tasks: NS2d-C (lid-driven cavity) and NS2d-CG (back step).

Both solve, for outputs ``(u, v, p)``,

    u u_x + v u_y + p_x - nu (u_xx + u_yy) = 0
    u v_x + v v_y + p_y - nu (v_xx + v_yy) = 0,      u_x + v_y = 0,      nu = 1/100.

``ns2d_c`` (NS2d-C, PINNacle's ``NS2D_LidDriven``): the unit square, the lid ``y = 1`` moving
with ``u = 4 x (1 - x)``, ``v = 0``, the other walls at rest, the pressure fixed by
``p(0, 0) = 0`` (a one-point data term, ``pressure``). Terms: ``residual`` (3 equations),
``lid``, ``walls``, ``pressure``.

``ns2d_cg`` (NS2d-CG, PINNacle's ``NS2D_BackStep``): ``[0, 4] x [0, 2]`` minus the block
``[0, 2] x [1, 2]`` (a channel of height 1 expanding to height 2 at ``x = 2``), inflow
``u = 4 y (1 - y)``, ``v = 0`` at ``x = 0``, ``p = 0`` at the outlet ``x = 4``, no slip on the
other walls. Terms: ``residual``, ``inlet``, ``outlet``, ``walls``.

Test set: the 101 x 101 grid (``ns2d_c``) or the points of the 161 x 81 grid of the bounding
box in the domain (``ns2d_cg``); rel_l2 pools the three fields, as PINNacle's L2RE does.
Reference: Taylor-Hood finite elements with Newton's method
(:mod:`kanpde.pde.reference.fem_ns`; the outlet carries the weak form's natural
"do-nothing" condition ``nu du/dn - p n = 0`` with ``p = 0``), on a uniform mesh of size
``reference_h``, cached. The back step's re-entrant corner at ``(2, 1)`` makes the pressure
singular there; its reference converges at about first order (successive differences of
about 2e-3 relative at ``h = 1/32``), the cavity's at third.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from kanpde.problems.kovasznay import ComponentDirichlet
from torch import Tensor

from kanpde.pde import (
    Boundary,
    Box,
    Cuboid,
    Derivatives,
    Observations,
    Polygon,
    Problem,
    check_positive,
)
from kanpde.pde.reference import cached_at
from kanpde.pde.reference.fem import probes
from kanpde.pde.reference.fem_ns import navier_stokes, rectangle_mesh

SOLVER_VERSION = 1
NU = 0.01


class SteadyFlow(Problem):
    """Steady incompressible Navier-Stokes in two dimensions, outputs ``(u, v, p)``."""

    output_names = ("u", "v", "p")
    nu = NU

    def residual(self, u: Derivatives) -> Tensor:
        w, ux, uy = u.value, u.d("x"), u.d("y")
        lap = u.laplacian()
        momentum = w[:, 0:1] * ux[:, :2] + w[:, 1:2] * uy[:, :2] - self.nu * lap[:, :2]
        momentum = momentum + torch.cat([ux[:, 2:3], uy[:, 2:3]], dim=1)
        return torch.cat([momentum, ux[:, 0:1] + uy[:, 1:2]], dim=1)  # (N, 3)

    def fem(self, h: float):
        """``(velocity basis, U, pressure basis, P)`` on a mesh of size ``h``."""
        raise NotImplementedError

    def fem_at(self, h: float, coords: np.ndarray) -> np.ndarray:
        """The finite-element ``(u, v, p)`` at points ``(n, 2)``: ``(n, 3)``."""
        solved = self.__dict__.setdefault("_solved", {})  # one Newton solve per mesh size
        if h not in solved:
            solved[h] = self.fem(h)
        ub, U, pb, P = solved[h]
        cols = [probes(basis, coords) @ part for part, basis in ub.split(U)]
        return np.stack(cols + [probes(pb, coords) @ P], axis=1)

    def _cached(self, coords: np.ndarray) -> np.ndarray:
        params = {"version": SOLVER_VERSION, "task": self.name, "h": self.reference_h}
        return cached_at(f"pinnacle_{self.name}", params, coords,
                         lambda c: self.fem_at(self.reference_h, c), self.use_cache)


class NS2dC(SteadyFlow):
    """PINNacle's NS2d-C, the lid-driven cavity (see the module docstring)."""

    name = "ns2d_c"
    test_shape = (101, 101)

    def __init__(self, reference_h: float = 1 / 64,
                 loss_weights: Mapping[str, float] | None = None, use_cache: bool = True
                 ) -> None:
        self.reference_h = check_positive("reference_h", reference_h)
        self.use_cache = bool(use_cache)
        box = Box(("x", "y"), (0.0, 0.0), (1.0, 1.0))
        lid, others = [box.face("y", "high")], [f for f in box.faces() if f.name != "y"
                                                 or f.side == "low"]
        super().__init__(box, [ComponentDirichlet("lid", lid, self.lid_velocity, (0, 1)),
                               ComponentDirichlet("walls", others, 0.0, (0, 1))],
                         dim_out=3, loss_weights=loss_weights)
        self.add_observations(Observations(np.zeros((1, 2)), np.zeros((1, 1)), (2,),
                                           source="p(0, 0) = 0"), name="pressure")

    def lid_velocity(self, x: Tensor) -> Tensor:
        xx = x[:, 0:1]
        return torch.cat([4 * xx * (1 - xx), torch.zeros_like(xx), torch.zeros_like(xx)], 1)

    def fem(self, h: float):
        mesh = rectangle_mesh((0.0, 0.0), (1.0, 1.0), h)

        def velocity(x: np.ndarray) -> np.ndarray:
            top = np.abs(x[1] - 1.0) < 1e-12
            return np.stack([np.where(top, 4 * x[0] * (1 - x[0]), 0.0), np.zeros_like(x[0])])

        return navier_stokes(mesh, self.nu, velocity,
                             lambda x: np.ones(x.shape[1], dtype=bool),
                             lambda x: (np.abs(x[0]) < 1e-12) & (np.abs(x[1]) < 1e-12))

    def reference(self, axes) -> np.ndarray:
        mesh = np.meshgrid(*axes, indexing="ij")
        return self._cached(np.stack([m.ravel() for m in mesh], axis=1))


class NS2dCG(SteadyFlow):
    """PINNacle's NS2d-CG, the back step (see the module docstring)."""

    name = "ns2d_cg"
    test_shape = (161, 81)

    def __init__(self, reference_h: float = 1 / 64,
                 loss_weights: Mapping[str, float] | None = None, use_cache: bool = True
                 ) -> None:
        self.reference_h = check_positive("reference_h", reference_h)
        self.use_cache = bool(use_cache)
        channel = Polygon([(0, 0), (4, 0), (4, 2), (2, 2), (2, 1), (0, 1)])
        inlet = Cuboid((-1e-6, -1.0), (1e-6, 3.0))
        outlet = Cuboid((4 - 1e-6, -1.0), (4 + 1e-6, 3.0))
        super().__init__(channel, [
            ComponentDirichlet("inlet", Boundary(channel, within=inlet), self.inflow, (0, 1)),
            ComponentDirichlet("outlet", Boundary(channel, within=outlet), 0.0, (2,)),
            ComponentDirichlet("walls", Boundary(channel, without=inlet | outlet), 0.0,
                               (0, 1)),
        ], dim_out=3, loss_weights=loss_weights)

    def inflow(self, x: Tensor) -> Tensor:
        y = x[:, 1:2]
        return torch.cat([4 * y * (1 - y), torch.zeros_like(y), torch.zeros_like(y)], 1)

    def fem(self, h: float):
        mesh = rectangle_mesh((0.0, 0.0), (4.0, 2.0), h, removed=((0.0, 1.0), (2.0, 2.0)))

        def velocity(x: np.ndarray) -> np.ndarray:
            inlet = np.abs(x[0]) < 1e-12
            return np.stack([np.where(inlet, 4 * x[1] * (1 - x[1]), 0.0), np.zeros_like(x[0])])

        return navier_stokes(mesh, self.nu, velocity,
                             lambda x: np.abs(x[0] - 4.0) > 1e-12,
                             lambda x: np.abs(x[0] - 4.0) < 1e-12)

    def reference_at(self, coords: np.ndarray) -> np.ndarray:
        return self._cached(coords)
