"""PINNacle's HInv: an inverse heat problem whose coefficient field is learned from data.

On ``(x, y) in [-1, 1]^2``, ``t in [0, 1]``, outputs ``(u, a)``,

    u_t = div(a grad u) + f = a lap u + a_x u_x + a_y u_y + f,
    f = e^{-t} [ (4 pi^2 - 1) s_x s_y
                 + pi^2 (2 s_x^2 s_y^2 - c_x^2 s_y^2 - s_x^2 c_y^2) ],

with ``s_x = sin(pi x)``, ``c_x = cos(pi x)`` (likewise in ``y``); the truth is

    u = e^{-t} s_x s_y,        a = 2 + s_x s_y.

Nothing fixes ``u`` but ``n_data`` observations (uniform random points of the space-time box,
the true ``u`` plus Gaussian noise of standard deviation ``noise``, drawn with ``data_seed``):
the term ``data``. The coefficient is known on the spatial boundary: the term
``coefficient`` (``a = a_true`` for ``x, y = +-1``, every ``t``). Terms: ``residual``,
``coefficient``, ``data``.

The coefficient is a learned field: by default the second output of the solver network, as
in PINNacle's benchmark runs (one network with two outputs; ``a`` is then free to vary in
``t``, and the equation and the data drive it to the stationary truth); with the config's
``fields: {a: ...}`` its own network of ``(x, y)`` (``field_inputs``), stationary by
construction (``experiment=heat_inv_field``). Test set: the
41 x 41 x 11 grid; rel_l2 pools ``u`` and ``a`` (PINNacle's L2RE does the same). PINNacle
draws its observation points from a file it ships and its noise unseeded; here both are drawn
from ``data_seed`` (same law, different sample).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from kanpde.problems.kovasznay import ComponentDirichlet
from torch import Tensor

from kanpde.pde import Box, Derivatives, Observations, Problem

PI = math.pi


class HeatInverse(Problem):
    """PINNacle's HInv (see the module docstring)."""

    name = "heat_inv"
    output_names = ("u", "a")
    field_inputs = {"a": ("x", "y")}
    test_shape = (41, 41, 11)

    def __init__(self, n_data: int = 2500, noise: float = 0.1, data_seed: int = 0,
                 loss_weights: Mapping[str, float] | None = None) -> None:
        if isinstance(n_data, bool) or not isinstance(n_data, int) or n_data < 1:
            raise ValueError(f"problem.n_data: expected a positive integer, got {n_data!r}")
        if not (isinstance(noise, int | float) and math.isfinite(noise) and noise >= 0):
            raise ValueError(f"problem.noise: expected a finite number >= 0, got {noise!r}")
        if isinstance(data_seed, bool) or not isinstance(data_seed, int):
            raise ValueError(f"problem.data_seed: expected an integer, got {data_seed!r}")
        self.n_data, self.noise, self.data_seed = n_data, float(noise), data_seed
        box = Box(("x", "y", "t"), (-1.0, -1.0, 0.0), (1.0, 1.0, 1.0))
        sides = [f for f in box.faces() if f.name != "t"]
        super().__init__(box, [ComponentDirichlet("coefficient", sides, self.exact, (1,))],
                         dim_out=2, loss_weights=loss_weights)
        self.add_observations(self.observations(), name="data")

    def observations(self) -> Observations:
        """``n_data`` noisy values of the true ``u`` at uniform random points."""
        rng = np.random.default_rng(self.data_seed)
        lo, hi = np.array([-1.0, -1.0, 0.0]), np.array([1.0, 1.0, 1.0])
        x = lo + (hi - lo) * rng.random((self.n_data, 3))
        u = self.exact(torch.as_tensor(x))[:, :1].numpy()
        u = u + self.noise * rng.standard_normal(u.shape)
        src = f"{self.n_data} random points, noise std {self.noise:g} (seed {self.data_seed})"
        return Observations(x, u, (0,), source=src)

    def source(self, x: Tensor, y: Tensor, t: Tensor) -> Tensor:
        """``f`` at coordinate columns ``(N, 1)`` each."""
        sx, sy, cx, cy = torch.sin(PI * x), torch.sin(PI * y), torch.cos(PI * x), torch.cos(PI * y)
        bracket = ((4 * PI**2 - 1) * sx * sy
                   + PI**2 * (2 * sx**2 * sy**2 - cx**2 * sy**2 - sx**2 * cy**2))
        return torch.exp(-t) * bracket

    def residual(self, u: Derivatives) -> Tensor:
        a = u.value[:, 1:2]
        ux, uy, lap = u.d("x"), u.d("y"), u.laplacian(("x", "y"))
        flux = a * lap[:, :1] + ux[:, 1:2] * ux[:, :1] + uy[:, 1:2] * uy[:, :1]
        return u.d("t")[:, :1] - flux - self.source(u.x("x"), u.x("y"), u.x("t"))  # (N, 1)

    def exact(self, x: Tensor) -> Tensor:
        s = torch.sin(PI * x[:, 0:1]) * torch.sin(PI * x[:, 1:2])
        return torch.cat([torch.exp(-x[:, 2:3]) * s, 2 + s], dim=1)
