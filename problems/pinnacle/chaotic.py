"""PINNacle's chaotic tasks: Kuramoto-Sivashinsky (KS) and Gray-Scott (GS).

``ks``: on ``x in [0, 2 pi]``, ``t in [0, 1]``,

    u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0,
    alpha = 100/16,  beta = 100/16^2,  gamma = 100/16^4,
    u(x, 0) = cos(x) (1 + sin(x)),

periodic in ``x`` (the modes with ``k < 16`` grow, up to the rate ``beta^2 / (4 gamma) = 25``
at ``k^2 = 128``, and the nonlinearity moves their energy on: a chaotic regime). Terms
``residual``, ``initial``, ``periodic`` (values and ``x``-derivatives equal at ``x = 0`` and
``2 pi``); ``hard_constraint=true`` makes ``initial`` exact, ``w = w(x, 0) + (t / T) N``.
Variants: ``direct`` (one output ``u``, the fourth derivative ``u.dn("x", 4)`` in
the residual) and ``mixed`` (outputs ``(u, w)`` with ``w = u_xx`` enforced by a second residual
column, ``u_t + alpha u u_x + beta w + gamma w_xx`` the first: second derivatives only, so the
Gauss-Newton Jacobian stays on the layer tape; the initial value gives ``w = u0''`` too, and
the test metrics score ``u`` alone). PINNacle imposes no boundary condition;
the periodic one is what its reference solves (a deviation that only adds information the
reference already assumes).

Reference: Fourier pseudo-spectral ETDRK4 (:func:`kanpde.pde.reference.spectral.
kuramoto_sivashinsky`; ``reference_modes`` nodes, step ``reference_dt``, cached), fourth
order in time and spectrally accurate in space (measured in the tests). Test set: the 256
periodic nodes ``2 pi j / 256`` times ``101`` times in ``[0, 1]``.

``gray_scott``: on ``(x, y) in [-1, 1]^2``, ``t in [0, 200]``, outputs ``(u, v)``,

    u_t = eps_u lap u + b (1 - u) - u v^2,    v_t = eps_v lap v - d v + u v^2,
    b = 0.04,  d = 0.1,  eps_u = 1e-5,  eps_v = 5e-6,
    u(x, y, 0) = 1 - exp(-80 ((x + 0.05)^2 + (y + 0.02)^2)),
    v(x, y, 0) = exp(-80 ((x - 0.05)^2 + (y - 0.02)^2)).

The spot of ``v`` opens into a thin ring (width about 0.05, within ``|x|, |y| < 0.3``) while
``u = 1, v = 0`` holds everywhere else. That is why L2RE misleads on this task: the trivial
field ``u = 1, v = 0`` scores 9.5e-2 on the test set, about PINNacle's published numbers; the
figures and the error of ``v`` alone tell whether a model found the ring. Terms ``residual``
(two columns), ``initial``, ``periodic_x``, ``periodic_y`` (values and normal derivatives equal
on opposite sides); ``hard_constraint=true`` makes ``initial`` exact,
``w = w(x, y, 0) + (t / T) N``. PINNacle imposes no boundary condition; the periodic ones are
what the reference solves (and ``u = 1, v = 0`` holds at the boundary to machine precision
anyway).

Reference: 2-D Fourier pseudo-spectral ETDRK4 (:func:`kanpde.pde.reference.
reaction_diffusion.gray_scott`; ``reference_modes`` nodes per axis, step ``reference_dt``,
cached), 1e-5 from a solve on twice the nodes and half the step. Test set: every second node
(128 per axis, spacing 1/64) at 21 times in ``[0, 200]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from kanpde.pde import (
    Box,
    Derivatives,
    InitialValue,
    Periodic,
    Problem,
    check_positive,
    check_variant,
)
from kanpde.pde.reference import cached
from kanpde.pde.reference.reaction_diffusion import gray_scott
from kanpde.pde.reference.spectral import kuramoto_sivashinsky

SOLVER_VERSION = 1
N_X, N_T = 256, 101


def check_reference_args(t_end: float, modes: int, multiple: int, dt: float,
                         dt_max: float) -> None:
    """ValueError naming the key unless ``t_end > 0`` is finite, ``modes`` is a positive
    multiple of ``multiple`` and ``0 < dt <= dt_max`` (the spectral references' settings)."""
    check_positive("problem.t_end", t_end)
    if (isinstance(modes, bool) or not isinstance(modes, int) or modes < multiple
            or modes % multiple):
        raise ValueError(f"problem.reference_modes: expected a multiple of {multiple}, got "
                         f"{modes!r}")
    if not (isinstance(dt, int | float) and 0 < dt <= dt_max):
        raise ValueError(f"problem.reference_dt: expected a number in (0, {dt_max:g}], got "
                         f"{dt!r}")


def initial_value_np(x: np.ndarray) -> np.ndarray:
    return np.cos(x) * (1 + np.sin(x))


class KuramotoSivashinsky(Problem):
    """PINNacle's KS (see the module docstring)."""

    name = "ks"
    variants = ("direct", "mixed")
    residual_order = 4
    constrained_terms = ("initial",)
    alpha, beta, gamma = 100 / 16, 100 / 16**2, 100 / 16**4

    def __init__(self, variant: str = "direct", t_end: float = 1.0, reference_modes: int = 512,
                 reference_dt: float = 2.5e-5,
                 loss_weights: Mapping[str, float] | None = None, use_cache: bool = True
                 ) -> None:
        check_reference_args(t_end, reference_modes, N_X, reference_dt, 1e-3)
        self.variant = check_variant(type(self), variant)
        self.mixed = self.variant == "mixed"
        if self.mixed:
            self.residual_order, self.scored_outputs = 2, (0,)
            self.output_names = ("u", "u_xx")
        self.t_end, self.use_cache = float(t_end), bool(use_cache)
        self.reference_modes, self.reference_dt = reference_modes, float(reference_dt)
        box = Box(("x", "t"), (0.0, 0.0), (2 * math.pi, self.t_end))
        super().__init__(box, [InitialValue("initial", box, self.initial_value),
                               Periodic("periodic", box, "x")],
                         dim_out=2 if self.mixed else 1, loss_weights=loss_weights)

    def initial_value(self, x: Tensor) -> Tensor:
        xx = x[:, 0:1]  # u0 = cos x + sin(2x) / 2, u0'' = -cos x - 2 sin(2x)
        u0 = torch.cos(xx) * (1 + torch.sin(xx))
        if not self.mixed:
            return u0
        return torch.cat([u0, -torch.cos(xx) - 2 * torch.sin(2 * xx)], dim=1)  # (M, 2)

    def output_transform(self, x: Tensor, u: Tensor) -> Tensor:
        """Hard constraint ``w = w(x, 0) + (t / T) N(x, t)`` (satisfies ``initial``; in the
        mixed form both outputs, ``u0`` and ``u0''``): ``(M, 2), (M, dim_out) -> (M, dim_out)``."""
        return self.initial_value(x) + (x[:, 1:2] / self.t_end) * u

    def residual(self, u: Derivatives) -> Tensor:
        if not self.mixed:
            return (u.d("t") + self.alpha * u.value * u.d("x") + self.beta * u.d2("x")
                    + self.gamma * u.dn("x", 4))  # (N, 1)
        w, wx, wxx = u.value, u.d("x"), u.d2("x")
        first = (u.d("t")[:, :1] + self.alpha * w[:, :1] * wx[:, :1] + self.beta * w[:, 1:]
                 + self.gamma * wxx[:, 1:])
        return torch.cat([first, w[:, 1:] - wxx[:, :1]], dim=1)  # (N, 2)

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
        if not self.mixed:
            return u.T.reshape(-1, 1)  # (n_x * n_t, 1) in (x, t) "ij" order
        k = np.arange(N_X // 2 + 1)  # wavenumbers on [0, 2 pi): u_xx spectrally
        uxx = np.fft.irfft(-(k**2) * np.fft.rfft(u, axis=1), n=N_X, axis=1)
        return np.stack([u.T.ravel(), uxx.T.ravel()], axis=1)  # (n_x * n_t, 2)


GS_NODES, GS_TIMES = 128, 21


def gaussian_np(x: np.ndarray, y: np.ndarray, cx: float, cy: float) -> np.ndarray:
    return np.exp(-80 * ((x - cx) ** 2 + (y - cy) ** 2))


class GrayScott(Problem):
    """PINNacle's GS (see the module docstring)."""

    name = "gray_scott"
    output_names = ("u", "v")
    constrained_terms = ("initial",)
    eps, b, d = (1e-5, 5e-6), 0.04, 0.1
    centres = ((-0.05, -0.02), (0.05, 0.02))  # of the hole in u and the spot of v

    def __init__(self, t_end: float = 200.0, reference_modes: int = 256,
                 reference_dt: float = 0.5,
                 loss_weights: Mapping[str, float] | None = None, use_cache: bool = True
                 ) -> None:
        check_reference_args(t_end, reference_modes, GS_NODES, reference_dt, 2.0)
        self.t_end, self.use_cache = float(t_end), bool(use_cache)
        self.reference_modes, self.reference_dt = reference_modes, float(reference_dt)
        box = Box(("x", "y", "t"), (-1.0, -1.0, 0.0), (1.0, 1.0, self.t_end))
        super().__init__(box, [InitialValue("initial", box, self.initial_value),
                               Periodic("periodic_x", box, "x"),
                               Periodic("periodic_y", box, "y")],
                         dim_out=2, loss_weights=loss_weights)

    def initial_value(self, x: Tensor) -> Tensor:
        (ux, uy), (vx, vy) = self.centres
        hole = torch.exp(-80 * ((x[:, 0:1] - ux) ** 2 + (x[:, 1:2] - uy) ** 2))
        spot = torch.exp(-80 * ((x[:, 0:1] - vx) ** 2 + (x[:, 1:2] - vy) ** 2))
        return torch.cat([1 - hole, spot], dim=1)  # (M, 2)

    def output_transform(self, x: Tensor, u: Tensor) -> Tensor:
        """Hard constraint ``w = w(x, y, 0) + (t / T) N(x, y, t)`` (satisfies ``initial``)."""
        return self.initial_value(x) + (x[:, 2:3] / self.t_end) * u

    def residual(self, u: Derivatives) -> Tensor:
        w, w_t, lap = u.value, u.d("t"), u.laplacian()
        uu, vv = w[:, 0:1], w[:, 1:2]
        reaction = uu * vv * vv
        ru = w_t[:, 0:1] - self.eps[0] * lap[:, 0:1] - self.b * (1 - uu) + reaction
        rv = w_t[:, 1:2] - self.eps[1] * lap[:, 1:2] + self.d * vv - reaction
        return torch.cat([ru, rv], dim=1)  # (N, 2)

    def test_axes(self) -> list[tuple[str, np.ndarray]]:
        nodes = -1.0 + 2.0 * np.arange(GS_NODES) / GS_NODES
        return [("x", nodes), ("y", nodes), ("t", np.linspace(0.0, self.t_end, GS_TIMES))]

    def reference_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``x (128,)`` (either axis), ``t (21,)``, ``w (21, 2, 128, 128)`` of the (cached)
        reference, ``w[i, s, p, q]`` species ``s`` at ``(x_p, y_q, t_i)``."""
        (ux, uy), (vx, vy) = self.centres
        params = {"version": SOLVER_VERSION, "initial": [list(self.centres), 80.0],
                  "t_end": self.t_end, "modes": self.reference_modes, "dt": self.reference_dt,
                  "nodes": GS_NODES, "times": GS_TIMES,
                  "coefficients": [*self.eps, self.b, self.d]}

        def compute() -> dict[str, np.ndarray]:
            x, t, w = gray_scott(lambda a, c: 1 - gaussian_np(a, c, ux, uy),
                                 lambda a, c: gaussian_np(a, c, vx, vy), self.eps, self.b,
                                 self.d, self.reference_modes, self.reference_dt, self.t_end,
                                 GS_TIMES)
            stride = self.reference_modes // GS_NODES
            return {"x": x[::stride], "t": t, "w": w[:, :, ::stride, ::stride]}

        data = cached("pinnacle_gray_scott", params, compute, self.use_cache)
        return data["x"], data["t"], data["w"]

    def reference(self, axes: Sequence[np.ndarray]) -> np.ndarray:
        x, t, w = self.reference_grid()
        if not all(len(a) == len(r) and np.allclose(a, r, atol=1e-12)
                   for a, r in zip(axes, (x, x, t), strict=True)):
            raise ValueError("the Gray-Scott reference is only available on test_axes()")
        return w.transpose(2, 3, 0, 1).reshape(-1, 2)  # (n_x n_y n_t, 2) in (x, y, t) order
