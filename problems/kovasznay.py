"""Steady incompressible Navier-Stokes: Kovasznay flow (a PDE system, three fields).

    u u_x + v u_y + p_x - (u_xx + u_yy) / Re = 0
    u v_x + v v_y + p_y - (v_xx + v_yy) / Re = 0
    u_x + v_y = 0                                  on  [-0.5, 1] x [-0.5, 1.5],

outputs ``(u, v, p)`` (``dim_out = 3``), ``Re = 20`` by default. Exact solution (Kovasznay
1948), with ``lambda = Re / 2 - sqrt(Re^2 / 4 + 4 pi^2)``:

    u = 1 - e^(lambda x) cos(2 pi y),   v = lambda / (2 pi) e^(lambda x) sin(2 pi y),
    p = (1 - e^(2 lambda x)) / 2.

Residual: the three equations, ``(N, 3)``. Conditions: ``velocity`` (u and v from the exact
solution on the whole boundary) and ``pressure`` (p on the outflow edge ``x = 1``, which fixes
the pressure constant). Test set: the 101 x 101 grid; rel_l2 is taken over all three fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor

from kanpde.pde import Box, Derivatives, Dirichlet, Problem, check_positive, check_variant

PI = math.pi


class ComponentDirichlet(Dirichlet):
    """``u_j = g_j`` for the output components ``j`` in ``components`` only."""

    def __init__(self, name, faces, value, components: tuple[int, ...]) -> None:
        super().__init__(name, faces, value)
        self.components = tuple(components)

    def residual(self, u: Derivatives) -> Tensor:
        return super().residual(u)[:, list(self.components)]


class Kovasznay(Problem):
    """Kovasznay flow (see the module docstring)."""

    name = "kovasznay"
    variants = ("re20",)
    test_shape = (101, 101)
    output_names = ("u", "v", "p")

    def __init__(self, variant: str = "re20", reynolds: float = 20.0,
                 loss_weights: Mapping[str, float] | None = None) -> None:
        self.variant = check_variant(type(self), variant)
        self.reynolds = check_positive("reynolds", reynolds)
        self.lam = self.reynolds / 2 - math.sqrt(self.reynolds**2 / 4 + 4 * PI**2)
        domain = Box(("x", "y"), (-0.5, -0.5), (1.0, 1.5))
        super().__init__(
            domain,
            [
                ComponentDirichlet("velocity", domain.faces(), self.exact, (0, 1)),
                ComponentDirichlet("pressure", [domain.face("x", "high")], self.exact, (2,)),
            ],
            dim_out=3,
            loss_weights=loss_weights,
        )

    def residual(self, u: Derivatives) -> Tensor:
        w, ux, uy = u.value, u.d("x"), u.d("y")
        lap = u.laplacian()
        vel_u, vel_v = w[:, 0:1], w[:, 1:2]
        momentum = vel_u * ux[:, :2] + vel_v * uy[:, :2] - lap[:, :2] / self.reynolds
        momentum = momentum + torch.cat([ux[:, 2:3], uy[:, 2:3]], dim=1)
        continuity = ux[:, 0:1] + uy[:, 1:2]
        return torch.cat([momentum, continuity], dim=1)  # (N, 3)

    def exact(self, x: Tensor) -> Tensor:
        xx, yy, lam = x[:, 0:1], x[:, 1:2], self.lam
        e = torch.exp(lam * xx)
        u = 1 - e * torch.cos(2 * PI * yy)
        v = lam / (2 * PI) * e * torch.sin(2 * PI * yy)
        p = 0.5 * (1 - torch.exp(2 * lam * xx))
        return torch.cat([u, v, p], dim=1)
