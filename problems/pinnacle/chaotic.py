"""PINNacle's chaotic task KS: the Kuramoto-Sivashinsky equation.

On ``x in [0, 2 pi]``, ``t in [0, 1]``,

    u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0,
    alpha = 100/16,  beta = 100/16^2,  gamma = 100/16^4,
    u(x, 0) = cos(x) (1 + sin(x)),

periodic in ``x`` (the modes with ``k < 16`` grow, up to the rate ``beta^2 / (4 gamma) = 25``
at ``k^2 = 128``, and the nonlinearity moves their energy on: a chaotic regime). Terms
``residual`` (with the fourth derivative ``u.dn("x", 4)``), ``initial``, ``periodic``
(``u`` and ``u_x`` equal at ``x = 0`` and ``2 pi``). PINNacle imposes no boundary condition;
the periodic one is what its reference solves (a deviation that only adds information the
reference already assumes).

Reference: Fourier pseudo-spectral ETDRK4 (:func:`kanpde.pde.reference.spectral.
kuramoto_sivashinsky`; ``reference_modes`` nodes, step ``reference_dt``, cached), fourth
order in time and spectrally accurate in space (measured in the tests). Test set: the 256
periodic nodes ``2 pi j / 256`` times ``101`` times in ``[0, 1]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from kanpde.pde import Box, Derivatives, InitialValue, Periodic, Problem
from kanpde.pde.reference import cached
from kanpde.pde.reference.spectral import kuramoto_sivashinsky

SOLVER_VERSION = 1
N_X, N_T = 256, 101


def initial_value_np(x: np.ndarray) -> np.ndarray:
    return np.cos(x) * (1 + np.sin(x))


class KuramotoSivashinsky(Problem):
    """PINNacle's KS (see the module docstring)."""

    name = "ks"
    residual_order = 4
    alpha, beta, gamma = 100 / 16, 100 / 16**2, 100 / 16**4

    def __init__(self, t_end: float = 1.0, reference_modes: int = 512,
                 reference_dt: float = 2.5e-5,
                 loss_weights: Mapping[str, float] | None = None, use_cache: bool = True
                 ) -> None:
        if not (isinstance(t_end, int | float) and math.isfinite(t_end) and t_end > 0):
            raise ValueError(f"problem.t_end: expected a finite number > 0, got {t_end!r}")
        if (isinstance(reference_modes, bool) or not isinstance(reference_modes, int)
                or reference_modes < N_X or reference_modes % N_X):
            raise ValueError(f"problem.reference_modes: expected a multiple of {N_X}, got "
                             f"{reference_modes!r}")
        if not (isinstance(reference_dt, int | float) and 0 < reference_dt <= 1e-3):
            raise ValueError(f"problem.reference_dt: expected a number in (0, 1e-3], got "
                             f"{reference_dt!r}")
        self.t_end, self.use_cache = float(t_end), bool(use_cache)
        self.reference_modes, self.reference_dt = reference_modes, float(reference_dt)
        box = Box(("x", "t"), (0.0, 0.0), (2 * math.pi, self.t_end))
        super().__init__(box, [InitialValue("initial", box, self.initial_value),
                               Periodic("periodic", box, "x")], loss_weights=loss_weights)

    def initial_value(self, x: Tensor) -> Tensor:
        xx = x[:, 0:1]
        return torch.cos(xx) * (1 + torch.sin(xx))

    def residual(self, u: Derivatives) -> Tensor:
        return (u.d("t") + self.alpha * u.value * u.d("x") + self.beta * u.d2("x")
                + self.gamma * u.dn("x", 4))  # (N, 1)

    def test_axes(self) -> list[tuple[str, np.ndarray]]:
        return [("x", 2 * math.pi * np.arange(N_X) / N_X),
                ("t", np.linspace(0.0, self.t_end, N_T))]

    def reference_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``x (256,)``, ``t (101,)``, ``u (101, 256)`` of the (cached) reference."""
        params = {"version": SOLVER_VERSION, "initial": "cos(x)(1+sin(x))", "t_end": self.t_end,
                  "modes": self.reference_modes, "dt": self.reference_dt, "n_x": N_X,
                  "n_t": N_T, "coefficients": [self.alpha, self.beta, self.gamma]}

        def compute() -> dict[str, np.ndarray]:
            x, t, u = kuramoto_sivashinsky(initial_value_np, self.alpha, self.beta, self.gamma,
                                           self.reference_modes, self.reference_dt,
                                           self.t_end, N_T)
            stride = self.reference_modes // N_X
            return {"x": x[::stride], "t": t, "u": u[:, ::stride]}

        data = cached("pinnacle_ks", params, compute, self.use_cache)
        return data["x"], data["t"], data["u"]

    def reference(self, axes: Sequence[np.ndarray]) -> np.ndarray:
        x, t, u = self.reference_grid()
        if not (len(axes[0]) == len(x) and np.allclose(axes[0], x, atol=1e-12)
                and len(axes[1]) == len(t) and np.allclose(axes[1], t, atol=1e-12)):
            raise ValueError("the KS reference is only available on test_axes()")
        return u.T.reshape(-1, 1)  # (n_x * n_t, 1) in (x, t) "ij" order
