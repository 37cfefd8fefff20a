"""Allen-Cahn equation in one space dimension.

    u_t - D u_xx + r u^3 - r u = 0,   x in [-1, 1],  t in [0, T],   u(x, 0) = x^2 cos(pi x).

Variants:

* ``periodic`` (default; Raissi et al., JAX-PI, PirateNets): ``D = 1e-4``, ``r = 5``,
  ``T = 1``, periodic in ``x`` (``u`` and ``u_x`` equal at ``x = -1`` and ``x = 1``). Reference:
  Fourier pseudo-spectral ETDRK4 (:mod:`kanpde.pde.reference.spectral`) with 512 modes and
  ``dt = 1e-5``, output on the grid ``x_j = -1 + 2 j / 512`` (``j = 0..511``; ``x = 1`` is
  ``x = -1``) times ``t = linspace(0, T, 201)``. ``reference_modes`` may be a multiple of 512
  (a finer reference, subsampled) or a divisor (a cheap one, Fourier-interpolated); the test
  grid stays 512 x 201 either way, and its ``t = 0`` row is ``u0`` exactly. Terms
  ``residual``, ``initial``, ``periodic``. No hard constraint.
* ``dirichlet`` (DeepXDE, jaxKAN): ``D = 1e-3``, ``u(-1, t) = u(1, t) = -1``. Reference:
  second-order method of lines (:mod:`kanpde.pde.reference.mol`) on 2048 and 4096 intervals
  combined by Richardson extrapolation, output at ``x = linspace(-1, 1, 513)`` times the same
  201 times. Terms ``residual``, ``initial``, ``boundary``. Hard constraint
  ``u = x^2 cos(pi x) + t (1 - x^2) N`` (DeepXDE's transform).

The test set is the reference grid (coordinates ordered ``(x, t)``). References are computed
once and cached on disk (``$KANPDE_CACHE``, default ``~/.cache/kanpde``). All loss weights
default to 1. Learnable (inverse problems): ``reaction`` (``r``) and ``diffusion`` (``D``).
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
    Dirichlet,
    InitialValue,
    Periodic,
    Problem,
    check_positive,
    check_variant,
)
from kanpde.pde.reference import allen_cahn_dirichlet_richardson, allen_cahn_periodic, cached

PI = math.pi
N_TIMES = 201  # output times of the reference grid
N_X_PERIODIC = 512  # output nodes of the periodic reference grid
N_X_DIRICHLET = 513  # output nodes of the Dirichlet reference grid
BOUNDARY_VALUE = -1.0
IC_OVERSAMPLE = 256  # FFT oversampling of the initial condition (spectral reference)
SOLVER_VERSION = 1  # bump when a reference solver changes, to invalidate cached results


def initial_value_np(x: np.ndarray) -> np.ndarray:
    return x**2 * np.cos(np.pi * x)


def to_periodic_grid(u: np.ndarray, n: int) -> np.ndarray:
    """Nodal values ``(T, m)`` on ``m`` periodic nodes -> ``(T, n)`` on ``n`` nodes.

    ``m`` a multiple of ``n``: every ``m/n``-th node. ``m`` dividing ``n``: trigonometric
    interpolation (the spectrum zero-padded, the coarse Nyquist mode split evenly between
    ``+k`` and ``-k``), exact for the function the ``m`` modes represent.
    """
    m = u.shape[1]
    if m % n == 0:
        return np.array(u[:, :: m // n])
    if n % m:
        raise ValueError(f"cannot move {m} periodic nodes to {n}: neither divides the other")
    spec = np.zeros((u.shape[0], n // 2 + 1), dtype=complex)
    spec[:, : m // 2 + 1] = np.fft.rfft(u, axis=1)
    spec[:, m // 2] *= 0.5
    return np.fft.irfft(spec, n=n, axis=1) * (n / m)


class AllenCahn(Problem):
    """The Allen-Cahn benchmark (see the module docstring)."""

    name = "allen_cahn"
    variants = ("periodic", "dirichlet")
    learnable = ("reaction", "diffusion")

    def __init__(
        self,
        variant: str = "periodic",
        diffusion: float | None = None,
        reaction: float = 5.0,
        t_end: float = 1.0,
        reference_modes: int = 512,
        reference_dt: float = 1e-5,
        reference_intervals: int = 2048,
        loss_weights: Mapping[str, float] | None = None,
        use_cache: bool = True,
    ) -> None:
        self.variant = check_variant(type(self), variant)
        default = 1e-4 if variant == "periodic" else 1e-3
        self.diffusion = check_positive("diffusion", default if diffusion is None else diffusion)
        self.reaction = check_positive("reaction", reaction, allow_zero=True)
        self.t_end = check_positive("t_end", t_end)
        self.reference_dt = check_positive("reference_dt", reference_dt)
        if (
            isinstance(reference_modes, bool)
            or int(reference_modes) != reference_modes
            or reference_modes < 4
            or (N_X_PERIODIC % reference_modes and reference_modes % N_X_PERIODIC)
        ):
            raise ValueError(
                f"reference_modes must divide {N_X_PERIODIC} or be a multiple of it (>= 4), "
                f"got {reference_modes!r}"
            )
        self.reference_modes = int(reference_modes)
        if (
            isinstance(reference_intervals, bool)
            or int(reference_intervals) != reference_intervals
            or reference_intervals < N_X_DIRICHLET - 1
            or reference_intervals % (N_X_DIRICHLET - 1)
        ):
            raise ValueError(
                "reference_intervals must be a positive multiple of "
                f"{N_X_DIRICHLET - 1}, got {reference_intervals!r}"
            )
        self.reference_intervals = int(reference_intervals)
        self.use_cache = bool(use_cache)
        domain = Box(("x", "t"), (-1.0, 0.0), (1.0, self.t_end))
        conditions = [InitialValue("initial", domain, self.initial_value)]
        if variant == "periodic":
            conditions.append(Periodic("periodic", domain, "x"))
        else:
            conditions.append(Dirichlet("boundary", domain.faces(), BOUNDARY_VALUE))
            self.constrained_terms = ("initial", "boundary")
        super().__init__(domain, conditions, loss_weights=loss_weights)

    # ------------------------------------------------------------------------ mathematics
    def initial_value(self, x: Tensor) -> Tensor:
        """``u0 = x^2 cos(pi x)`` at points ``(N, 2)``: ``(N, 1)``."""
        xx = x[:, 0:1]
        return xx**2 * torch.cos(PI * xx)

    def residual(self, u: Derivatives) -> Tensor:
        v = u.value
        return u.d("t") - self.coef("diffusion") * u.d2("x") + self.coef("reaction") * (v**3 - v)

    def output_transform(self, x: Tensor, u: Tensor) -> Tensor | None:
        if self.variant == "periodic":
            return None
        xx, t = x[:, 0:1], x[:, 1:2]
        return self.initial_value(x) + t * (1 - xx**2) * u

    # ------------------------------------------------------------------------ reference
    def test_axes(self) -> list[tuple[str, np.ndarray]]:
        if self.variant == "periodic":
            x = -1.0 + 2.0 * np.arange(N_X_PERIODIC) / N_X_PERIODIC
        else:
            x = np.linspace(-1.0, 1.0, N_X_DIRICHLET)
        return [("x", x), ("t", np.linspace(0.0, self.t_end, N_TIMES))]

    def reference_params(self) -> dict[str, object]:
        """Every parameter the reference depends on (the cache key)."""
        common = {
            "version": SOLVER_VERSION,
            "n_x": N_X_PERIODIC if self.variant == "periodic" else N_X_DIRICHLET,
            "initial": "x^2 cos(pi x)",
            "diffusion": self.diffusion,
            "reaction": self.reaction,
            "t_end": self.t_end,
            "n_out": N_TIMES,
        }
        if self.variant == "periodic":
            return {
                **common,
                "modes": self.reference_modes,
                "dt": self.reference_dt,
                "ic_oversample": IC_OVERSAMPLE,
            }
        return {
            **common,
            "boundary": BOUNDARY_VALUE,
            "intervals": self.reference_intervals,
            "rtol": 1e-10,
            "atol": 1e-12,
            "richardson": True,
        }

    def reference_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``x (n_x,)``, ``t (201,)``, ``u (201, n_x)`` of the (cached) reference solution."""
        p = self.reference_params()
        if self.variant == "periodic":

            def compute() -> dict[str, np.ndarray]:
                x, t, u = allen_cahn_periodic(
                    initial_value_np,
                    self.diffusion,
                    self.reaction,
                    modes=self.reference_modes,
                    dt=self.reference_dt,
                    t_end=self.t_end,
                    n_out=N_TIMES,
                    ic_oversample=IC_OVERSAMPLE,
                )
                x_out = -1.0 + 2.0 * np.arange(N_X_PERIODIC) / N_X_PERIODIC
                u = to_periodic_grid(u, N_X_PERIODIC)
                u[0] = initial_value_np(x_out)
                return {"x": x_out, "t": t, "u": u}

            data = cached("allen_cahn_periodic", p, compute, self.use_cache)
            return data["x"], data["t"], data["u"]

        def compute_mol() -> dict[str, np.ndarray]:
            x, t, u = allen_cahn_dirichlet_richardson(
                initial_value_np,
                self.diffusion,
                self.reaction,
                BOUNDARY_VALUE,
                n=self.reference_intervals,
                t_end=self.t_end,
                n_out=N_TIMES,
                rtol=1e-10,
                atol=1e-12,
            )
            stride = self.reference_intervals // (N_X_DIRICHLET - 1)
            return {"x": x[::stride], "t": t, "u": u[:, ::stride]}

        data = cached("allen_cahn_dirichlet", p, compute_mol, self.use_cache)
        return data["x"], data["t"], data["u"]

    def reference(self, axes: Sequence[np.ndarray]) -> np.ndarray:
        x, t, u = self.reference_grid()
        if not (np.allclose(axes[0], x, atol=1e-12) and np.allclose(axes[1], t, atol=1e-12)):
            raise ValueError("the reference is only available on test_axes()")
        return u.T.reshape(-1, 1)  # (n_x * n_t, 1) in (x, t) "ij" order
