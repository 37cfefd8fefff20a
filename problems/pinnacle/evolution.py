"""PINNacle's time-dependent tasks with exact solutions: Heat2d-MS, Wave1d-C and HNd.

``heat2d_ms`` (Heat2d-MS, multi-scale): on ``(x, y) in [0, 1]^2``, ``t in [0, 5]``,

    u_t = eps_x u_xx + eps_y u_yy,    eps_x = 1/(500 pi)^2,  eps_y = 1/pi^2,
    u = 0 on the boundary,  exact  u = sin(20 pi x) sin(pi y) exp(-(eps_x (20 pi)^2 + eps_y pi^2) t)

(initial value from the exact solution). Test set: 161 x 41 x 21 grid. Hard constraint
``u = u(x, y, 0) + t x (1 - x) y (1 - y) N``.

``wave1d_c`` (Wave1d-C): on ``x in [0, 1]``, ``t in [0, 1]``,

    u_tt = 4 u_xx,   u(x, 0) = sin(pi x) + sin(4 pi x) / 2,   u_t(x, 0) = 0,
    u(0, t) = u(1, t) = 0,
    exact  u = sin(pi x) cos(2 pi t) + sin(4 pi x) cos(8 pi t) / 2.

Terms ``residual``, ``initial``, ``rate`` (u_t at t = 0), ``boundary``. Test set: 101 x 101
grid. Hard constraint ``u = u(x, 0) + t^2 x (1 - x) N`` (satisfies all three conditions).

``heat_nd`` (HNd): on the unit ball of ``R^d`` (``d = 5``), ``t in [0, 1]``,

    u_t = (1/d) lap u + f,     f = -(1/d) |x|^2 exp(|x|^2 / 2 + t),
    du/dn = g on the sphere,   exact  u = exp(|x|^2 / 2 + t)

with ``g`` the exact solution's value (there ``du/dn = x . grad u = |x|^2 u = u``, as in
PINNacle), the initial value from the exact solution. Test set: the points of the
``9^d x 11`` grid of the bounding box that lie in the ball (about 1e5 for ``d = 5``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor

from kanpde.pde import (
    Ball,
    Box,
    Derivatives,
    Dirichlet,
    InitialRate,
    InitialValue,
    Neumann,
    Problem,
    SpaceTime,
    check_positive,
)

PI = math.pi


class Heat2dMS(Problem):
    """PINNacle's Heat2d-MS (see the module docstring)."""

    name = "heat2d_ms"
    linear = True
    constrained_terms = ("initial", "boundary")
    test_shape = (161, 41, 21)
    eps = (1 / (500 * PI) ** 2, 1 / PI**2)
    modes = (20 * PI, PI)

    def __init__(self, t_end: float = 5.0, loss_weights: Mapping[str, float] | None = None
                 ) -> None:
        self.t_end = check_positive("problem.t_end", t_end)
        box = Box(("x", "y", "t"), (0.0, 0.0, 0.0), (1.0, 1.0, self.t_end))
        super().__init__(box, [InitialValue("initial", box, self.exact),
                               Dirichlet("boundary", box.faces(), 0.0)],
                         loss_weights=loss_weights)

    @property
    def decay(self) -> float:
        return self.eps[0] * self.modes[0] ** 2 + self.eps[1] * self.modes[1] ** 2

    def residual(self, u: Derivatives) -> Tensor:
        return u.d("t") - self.eps[0] * u.d2("x") - self.eps[1] * u.d2("y")  # (N, 1)

    def exact(self, x: Tensor) -> Tensor:
        space = torch.sin(self.modes[0] * x[:, 0:1]) * torch.sin(self.modes[1] * x[:, 1:2])
        return space * torch.exp(-self.decay * x[:, 2:3])

    def output_transform(self, x: Tensor, u: Tensor) -> Tensor:
        x0 = torch.cat([x[:, :2], torch.zeros_like(x[:, 2:3])], dim=1)
        bubble = x[:, 0:1] * (1 - x[:, 0:1]) * x[:, 1:2] * (1 - x[:, 1:2])
        return self.exact(x0) + x[:, 2:3] * bubble * u


class Wave1dC(Problem):
    """PINNacle's Wave1d-C (see the module docstring)."""

    name = "wave1d_c"
    linear = True
    constrained_terms = ("initial", "rate", "boundary")
    test_shape = (101, 101)
    speed = 2.0

    def __init__(self, loss_weights: Mapping[str, float] | None = None) -> None:
        box = Box(("x", "t"), (0.0, 0.0), (1.0, 1.0))
        super().__init__(box, [InitialValue("initial", box, self.initial_value),
                               InitialRate("rate", box, 0.0),
                               Dirichlet("boundary", box.faces(), 0.0)],
                         loss_weights=loss_weights)

    def initial_value(self, x: Tensor) -> Tensor:
        xx = x[:, 0:1]
        return torch.sin(PI * xx) + 0.5 * torch.sin(4 * PI * xx)

    def residual(self, u: Derivatives) -> Tensor:
        return u.d2("t") - self.speed**2 * u.d2("x")  # (N, 1)

    def exact(self, x: Tensor) -> Tensor:
        xx, t = x[:, 0:1], x[:, 1:2]
        return (torch.sin(PI * xx) * torch.cos(2 * PI * t)
                + 0.5 * torch.sin(4 * PI * xx) * torch.cos(8 * PI * t))

    def output_transform(self, x: Tensor, u: Tensor) -> Tensor:
        xx, t = x[:, 0:1], x[:, 1:2]
        return self.initial_value(x) + t**2 * xx * (1 - xx) * u


class HeatND(Problem):
    """PINNacle's HNd (see the module docstring)."""

    name = "heat_nd"
    linear = True

    def __init__(self, dim: int = 5, t_end: float = 1.0,
                 loss_weights: Mapping[str, float] | None = None) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"problem.dim: expected a positive integer, got {dim!r}")
        self.dim, self.t_end = dim, check_positive("problem.t_end", t_end)
        self.test_shape = (9,) * dim + (11,)
        domain = SpaceTime(Ball((0.0,) * dim, 1.0), self.t_end)
        self.space_names = domain.space.names
        super().__init__(domain, [Neumann("boundary", domain, self.exact),
                                  InitialValue("initial", domain, self.exact)],
                         loss_weights=loss_weights)

    def residual(self, u: Derivatives) -> Tensor:
        xs = torch.cat([u.x(n) for n in self.space_names], dim=1)
        r2 = (xs**2).sum(dim=1, keepdim=True)
        f = -r2 / self.dim * torch.exp(r2 / 2 + u.x("t"))
        return u.d("t") - u.laplacian(self.space_names) / self.dim - f  # (N, 1)

    def exact(self, x: Tensor) -> Tensor:
        r2 = (x[:, :-1] ** 2).sum(dim=1, keepdim=True)
        return torch.exp(r2 / 2 + x[:, -1:])
