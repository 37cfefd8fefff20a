"""Heat equation (DeepXDE / jaxKAN benchmark) and a 2-D diffusion variant.

Variant ``1d`` (default), on ``x in [0, 1]``, ``t in [0, T]`` (``T = 1``):

    u_t = D u_xx + f,   f = e^{-t} (D pi^2 - 1) sin(pi x),
    u(x, 0) = sin(pi x),   u(0, t) = u(1, t) = 0,
    exact u = e^{-t} sin(pi x).

With the default ``D = 1`` this is the benchmark ``u_t = u_xx + e^{-t}(pi^2 - 1) sin(pi x)``;
other ``D > 0`` keep the same exact solution. Test set: 101 (x) x 101 (t) grid.

Variant ``diffusion2d``, on ``(x, y) in [0, 1]^2``, ``t in [0, T]``:

    u_t = kappa (u_xx + u_yy),   u(x, y, 0) = sin(pi x) sin(pi y),   u = 0 on the boundary,
    exact u = exp(-2 pi^2 kappa t) sin(pi x) sin(pi y),

with ``kappa = diffusion``, default 0.1 (so ``u`` decays to ``e^{-2 pi^2 0.1} ~ 0.14`` of its
initial size by ``t = 1``). Test set: 41 x 41 x 11 (x, y, t) grid.

Terms: ``residual``, ``initial`` (the slice ``t = 0``), ``boundary`` (zero Dirichlet on the
spatial faces); all loss weights default to 1. Learnable (inverse problems): ``diffusion``
(the operator's ``D``; the forcing keeps the true one). Hard constraint:
``u = u0(x) + t * prod_i x_i (1 - x_i) * N``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor

from kanpde.pde import (
    Box,
    Derivatives,
    Dirichlet,
    InitialValue,
    Problem,
    check_positive,
    check_variant,
)

PI = math.pi


class Heat(Problem):
    """Heat equation with a source (``1d``) or pure 2-D diffusion (``diffusion2d``)."""

    name = "heat"
    linear = True  # the residuals are affine in u and its derivatives
    variants = ("1d", "diffusion2d")
    constrained_terms = ("initial", "boundary")
    learnable = ("diffusion",)

    def __init__(
        self,
        variant: str = "1d",
        diffusion: float | None = None,
        t_end: float = 1.0,
        loss_weights: Mapping[str, float] | None = None,
    ) -> None:
        self.variant = check_variant(type(self), variant)
        default = 1.0 if variant == "1d" else 0.1
        self.diffusion = check_positive("diffusion", default if diffusion is None else diffusion)
        self.t_end = check_positive("t_end", t_end)
        if variant == "1d":
            domain = Box(("x", "t"), (0.0, 0.0), (1.0, self.t_end))
            self.test_shape = (101, 101)
        else:
            domain = Box(("x", "y", "t"), (0.0, 0.0, 0.0), (1.0, 1.0, self.t_end))
            self.test_shape = (41, 41, 11)
        conditions = [
            InitialValue("initial", domain, self.initial_value),
            Dirichlet("boundary", domain.faces(), 0.0),
        ]
        super().__init__(domain, conditions, loss_weights=loss_weights)

    def _spatial(self, x: Tensor) -> Tensor:
        """``prod_i sin(pi x_i)`` over the spatial columns: ``(N, 1)``."""
        return torch.prod(torch.sin(PI * x[:, :-1]), dim=1, keepdim=True)

    def initial_value(self, x: Tensor) -> Tensor:
        """``u0`` at points ``(N, dim_in)`` (the time column is ignored): ``(N, 1)``."""
        return self._spatial(x)

    def decay_rate(self) -> float:
        """``u = e^{-lambda t} u0``: ``lambda = 1`` (1d) or ``2 pi^2 kappa`` (diffusion2d)."""
        return 1.0 if self.variant == "1d" else 2 * PI**2 * self.diffusion

    def residual(self, u: Derivatives) -> Tensor:
        r = u.d("t") - self.coef("diffusion") * u.laplacian()
        if self.variant == "1d":  # the forcing is known: it keeps the true D
            t, x = u.x("t"), u.x("x")
            r = r - torch.exp(-t) * (self.diffusion * PI**2 - 1) * torch.sin(PI * x)
        return r  # (N, 1)

    def exact(self, x: Tensor) -> Tensor:
        return torch.exp(-self.decay_rate() * x[:, -1:]) * self._spatial(x)

    def exact_gradient(self, x: Tensor) -> Tensor:
        u = self.exact(x)
        xs = x[:, :-1]
        # d/dx_i prod_k sin(pi x_k) = pi cos(pi x_i) prod_{k != i} sin(pi x_k)
        cols = []
        for i in range(xs.shape[1]):
            others = torch.prod(
                torch.sin(PI * xs[:, [k for k in range(xs.shape[1]) if k != i]]),
                dim=1,
                keepdim=True,
            )
            cols.append(
                torch.exp(-self.decay_rate() * x[:, -1:])
                * PI
                * torch.cos(PI * xs[:, i : i + 1])
                * others
            )
        cols.append(-self.decay_rate() * u)
        return torch.stack(cols, dim=1)  # (N, dim_in, 1)

    def output_transform(self, x: Tensor, u: Tensor) -> Tensor:
        xs = x[:, :-1]
        bubble = torch.prod(xs * (1 - xs), dim=1, keepdim=True)
        return self.initial_value(x) + x[:, -1:] * bubble * u
