"""Helmholtz equation on the square with a manufactured solution of adjustable frequency.

    u_xx + u_yy + k^2 u = f   on  [-1, 1]^2,        u = 0  on the boundary,

    exact  u = sin(a1 pi x) sin(a2 pi y),      f = (k^2 - (a1^2 + a2^2) pi^2) u.

The defaults ``a1 = 1, a2 = 4, k = 1`` are the common PINN benchmark (Wang, Teng, Perdikaris
2021, "Understanding and mitigating gradient flow pathologies in PINNs"); larger ``a1, a2``
(and ``k``) make the problem high-frequency: the solution has ``a1 x a2`` half-waves per
direction pair, and a network needs correspondingly more parameters (the second-order
training test at scale, ``experiment=helmholtz``). ``a1, a2`` must be positive integers so that
``u`` vanishes on the boundary.

Residual ``lap u + k^2 u - f``; one condition ``boundary`` (Dirichlet, the four edges). Loss
weights: ``residual`` 1, ``boundary`` 1. Test set: the 201 x 201 uniform grid. Hard
constraint: ``u = (1 - x^2)(1 - y^2) N(x, y)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor

from kanpde.pde import Box, Derivatives, Dirichlet, Problem

PI = math.pi


def _wave_number(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"problem.{name}: expected a positive integer (u must vanish on the "
                         f"boundary), got {value!r}")
    return value


class Helmholtz(Problem):
    """The 2-D Helmholtz problem (see the module docstring)."""

    name = "helmholtz"
    linear = True
    constrained_terms = ("boundary",)
    test_shape = (201, 201)

    def __init__(self, a1: int = 1, a2: int = 4, k: float = 1.0,
                 loss_weights: Mapping[str, float] | None = None) -> None:
        self.a1 = _wave_number("a1", a1)
        self.a2 = _wave_number("a2", a2)
        if isinstance(k, bool) or not isinstance(k, (int, float)) or not math.isfinite(k):
            raise ValueError(f"problem.k: expected a finite number, got {k!r}")
        self.k = float(k)
        domain = Box(("x", "y"), (-1.0, -1.0), (1.0, 1.0))
        super().__init__(domain, [Dirichlet("boundary", domain.faces(), 0.0)],
                         loss_weights=loss_weights)

    def _u(self, x: Tensor, y: Tensor) -> Tensor:
        return torch.sin(self.a1 * PI * x) * torch.sin(self.a2 * PI * y)

    def residual(self, u: Derivatives) -> Tensor:
        factor = self.k**2 - (self.a1**2 + self.a2**2) * PI**2
        f = factor * self._u(u.x("x"), u.x("y"))
        return u.laplacian() + self.k**2 * u.value - f  # (N, 1)

    def exact(self, x: Tensor) -> Tensor:
        return self._u(x[:, 0:1], x[:, 1:2])  # (N, 1)

    def exact_gradient(self, x: Tensor) -> Tensor:
        ax, ay = self.a1 * PI * x[:, 0:1], self.a2 * PI * x[:, 1:2]
        ux = self.a1 * PI * torch.cos(ax) * torch.sin(ay)
        uy = self.a2 * PI * torch.sin(ax) * torch.cos(ay)
        return torch.stack([ux, uy], dim=1)  # (N, 2, 1)

    def output_transform(self, x: Tensor, u: Tensor) -> Tensor:
        return (1 - x[:, 0:1] ** 2) * (1 - x[:, 1:2] ** 2) * u
