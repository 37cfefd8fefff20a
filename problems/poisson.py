"""Poisson equation on the square (KAN paper, arXiv 2404.19756, section 3.4).

    u_xx + u_yy = f   on  [-1, 1]^2,        u = 0  on the boundary.

Variants:

* ``kan_paper`` (default): ``f = -pi^2 (1 + 4 y^2) sin(pi x) sin(pi y^2)
  + 2 pi sin(pi x) cos(pi y^2)``, exact ``u = sin(pi x) sin(pi y^2)``.
* ``sinsin`` (pykan tutorial): ``f = -2 pi^2 sin(pi x) sin(pi y)``, exact
  ``u = sin(pi x) sin(pi y)``.

Residual ``u_xx + u_yy - f``; one condition ``boundary`` (Dirichlet, the four edges). Loss
``alpha * mean(residual^2) + mean(u_boundary^2)`` with ``alpha = 0.01`` as in the paper and
the pykan tutorial: default loss weights ``{"residual": 0.01, "boundary": 1.0}``. Test set:
the 201 x 201 uniform grid. Hard constraint: ``u = (1 - x^2)(1 - y^2) N(x, y)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor

from kanpde.pde import Box, Derivatives, Dirichlet, Problem, check_variant

PI = math.pi


class Poisson(Problem):
    """The KAN-paper Poisson problem (see the module docstring)."""

    name = "poisson"
    linear = True  # the residuals are affine in u and its derivatives
    variants = ("kan_paper", "sinsin")
    constrained_terms = ("boundary",)
    test_shape = (201, 201)

    def __init__(
        self, variant: str = "kan_paper", loss_weights: Mapping[str, float] | None = None
    ) -> None:
        self.variant = check_variant(type(self), variant)
        domain = Box(("x", "y"), (-1.0, -1.0), (1.0, 1.0))
        super().__init__(
            domain,
            [Dirichlet("boundary", domain.faces(), 0.0)],
            loss_weights=loss_weights,
            default_loss_weights={"residual": 0.01, "boundary": 1.0},
        )

    def source(self, x: Tensor, y: Tensor) -> Tensor:
        """``f(x, y)`` for coordinate columns ``(N, 1)``."""
        if self.variant == "kan_paper":
            sx, y2 = torch.sin(PI * x), PI * y**2
            return sx * (2 * PI * torch.cos(y2) - PI**2 * (1 + 4 * y**2) * torch.sin(y2))
        return -2 * PI**2 * torch.sin(PI * x) * torch.sin(PI * y)

    def residual(self, u: Derivatives) -> Tensor:
        return u.laplacian() - self.source(u.x("x"), u.x("y"))  # (N, 1)

    def exact(self, x: Tensor) -> Tensor:
        xx, yy = x[:, 0:1], x[:, 1:2]
        if self.variant == "kan_paper":
            return torch.sin(PI * xx) * torch.sin(PI * yy**2)
        return torch.sin(PI * xx) * torch.sin(PI * yy)

    def exact_gradient(self, x: Tensor) -> Tensor:
        xx, yy = x[:, 0:1], x[:, 1:2]
        if self.variant == "kan_paper":
            ux = PI * torch.cos(PI * xx) * torch.sin(PI * yy**2)
            uy = 2 * PI * yy * torch.sin(PI * xx) * torch.cos(PI * yy**2)
        else:
            ux = PI * torch.cos(PI * xx) * torch.sin(PI * yy)
            uy = PI * torch.sin(PI * xx) * torch.cos(PI * yy)
        return torch.stack([ux, uy], dim=1)  # (N, 2, 1)

    def output_transform(self, x: Tensor, u: Tensor) -> Tensor:
        return (1 - x[:, 0:1] ** 2) * (1 - x[:, 1:2] ** 2) * u
