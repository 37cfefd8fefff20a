"""Poisson equation on the unit cube of any dimension, with an exact solution.

    -(u_x1x1 + ... + u_xdxd) = f   on  [0, 1]^d,        u = 0  on the boundary,

    f = d pi^2 prod_i sin(pi x_i),      exact  u = prod_i sin(pi x_i).

The default ``dim = 3`` is the three-dimensional test of second-order training at scale
(networks of 10^4 - 10^5 parameters); coordinates are ``x, y, z`` up to three dimensions and
``x1 .. xd`` above. Residual ``lap u + f``; one condition ``boundary`` (Dirichlet, the ``2 d``
faces). Loss weights: ``residual`` 1, ``boundary`` 1 (the mean squares of both terms). Test
set: a uniform grid of ``n`` points per axis with ``n^d`` at most about 70,000 (41^3 in 3-D).
Hard constraint: ``u = prod_i x_i (1 - x_i) N(x)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor

from kanpde.pde import Box, Derivatives, Dirichlet, Problem

PI = math.pi
MAX_DIM = 8
TEST_POINTS = 70_000


def coordinate_names(dim: int) -> tuple[str, ...]:
    """``x, y, z`` up to three dimensions, ``x1 .. xd`` above."""
    return ("x", "y", "z")[:dim] if dim <= 3 else tuple(f"x{i + 1}" for i in range(dim))


class PoissonND(Problem):
    """Poisson's equation on ``[0, 1]^dim`` (see the module docstring)."""

    name = "poisson_nd"
    linear = True
    constrained_terms = ("boundary",)

    def __init__(self, dim: int = 3, loss_weights: Mapping[str, float] | None = None) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= MAX_DIM:
            raise ValueError(f"problem.dim: expected an integer in 1..{MAX_DIM}, got {dim!r}")
        self.dim = dim
        names = coordinate_names(dim)
        domain = Box(names, (0.0,) * dim, (1.0,) * dim)
        per_axis = max(3, int(TEST_POINTS ** (1.0 / dim)))
        self.test_shape = (per_axis,) * dim
        super().__init__(domain, [Dirichlet("boundary", domain.faces(), 0.0)],
                         loss_weights=loss_weights)

    def _sines(self, x: Tensor) -> Tensor:
        return torch.sin(PI * x)  # (N, d)

    def residual(self, u: Derivatives) -> Tensor:
        coords = torch.cat([u.x(n) for n in self.names], dim=1)  # (N, d)
        f = self.dim * PI**2 * self._sines(coords).prod(dim=1, keepdim=True)
        return u.laplacian() + f  # (N, 1)

    def exact(self, x: Tensor) -> Tensor:
        return self._sines(x).prod(dim=1, keepdim=True)  # (N, 1)

    def exact_gradient(self, x: Tensor) -> Tensor:
        s, c = self._sines(x), torch.cos(PI * x)
        cols = []
        for j in range(self.dim):
            others = torch.cat([s[:, :j], s[:, j + 1 :]], dim=1).prod(dim=1, keepdim=True)
            cols.append(PI * c[:, j : j + 1] * others)
        return torch.stack(cols, dim=1)  # (N, d, 1)

    def output_transform(self, x: Tensor, u: Tensor) -> Tensor:
        return (x * (1 - x)).prod(dim=1, keepdim=True) * u
