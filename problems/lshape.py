"""Laplace and Poisson equations on the L-shaped domain (a non-box geometry).

    u_xx + u_yy = f   on  L = [-1, 1]^2 minus the quadrant (0, 1] x [-1, 0),   u = g on dL.

The domain is the polygon with vertices (-1,-1), (0,-1), (0,0), (1,0), (1,1), (-1,1)
(:class:`kanpde.pde.geometry.Polygon`); its re-entrant corner is the origin.

Variants:

* ``singular`` (default): ``f = 0``, ``g`` = the exact solution ``u = r^(2/3) sin(2 theta / 3)``
  (polar coordinates about the corner, ``theta in [0, 3 pi / 2]`` measured from the positive
  x-axis through the upper half plane), the classic corner-singularity benchmark of adaptive
  finite elements: ``u`` is harmonic, vanishes on the two edges at the corner, and its
  gradient is unbounded there (``|grad u| ~ r^(-1/3)``).
* ``sinsin``: ``f = -2 pi^2 sin(pi x) sin(pi y)``, ``g = 0``, exact ``u = sin(pi x) sin(pi y)``
  (every edge of L lies on a line where it vanishes): a smooth solution on the same domain.

Residual ``u_xx + u_yy - f``; one condition ``boundary`` (Dirichlet on the whole boundary,
points uniform in arc length). Test set: the points of the 100 x 100 grid of the bounding box
that lie in L (7500 points; the grid avoids the singular corner, where the gradient of the
exact solution is infinite).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor

from kanpde.pde import Derivatives, Dirichlet, Problem, check_variant
from kanpde.pde.geometry import Polygon

PI = math.pi
VERTICES = ((-1.0, -1.0), (0.0, -1.0), (0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (-1.0, 1.0))


def corner_angle(x: Tensor, y: Tensor) -> Tensor:
    """``theta`` in ``[0, 2 pi)``, from the positive x-axis counter-clockwise."""
    theta = torch.atan2(y, x)
    return torch.where(theta < 0, theta + 2 * PI, theta)


class LShape(Problem):
    """The L-shaped domain problems (see the module docstring)."""

    name = "lshape"
    linear = True
    variants = ("singular", "sinsin")
    test_shape = (100, 100)

    def __init__(
        self, variant: str = "singular", loss_weights: Mapping[str, float] | None = None
    ) -> None:
        self.variant = check_variant(type(self), variant)
        shape = Polygon(VERTICES)
        value = self._exact if self.variant == "singular" else 0.0
        super().__init__(shape, [Dirichlet("boundary", shape, value)],
                         loss_weights=loss_weights)

    def source(self, x: Tensor, y: Tensor) -> Tensor:
        """``f(x, y)`` for coordinate columns ``(N, 1)``."""
        if self.variant == "singular":
            return torch.zeros_like(x)
        return -2 * PI**2 * torch.sin(PI * x) * torch.sin(PI * y)

    def residual(self, u: Derivatives) -> Tensor:
        return u.laplacian() - self.source(u.x("x"), u.x("y"))  # (N, 1)

    def _exact(self, x: Tensor) -> Tensor:
        xx, yy = x[:, 0:1], x[:, 1:2]
        if self.variant == "singular":
            r = torch.sqrt(xx**2 + yy**2)
            return r ** (2.0 / 3.0) * torch.sin(2.0 / 3.0 * corner_angle(xx, yy))
        return torch.sin(PI * xx) * torch.sin(PI * yy)

    def exact(self, x: Tensor) -> Tensor:
        return self._exact(x)
