"""Fourier pseudo-spectral ETDRK4 for the two-species Gray-Scott system on a periodic square.

Solves, for ``(x, y) in [lo, hi)^2`` periodic and ``t in [0, T]``,

    u_t = eps_u lap u + b (1 - u) - u v^2,
    v_t = eps_v lap v - d v + u v^2.

On ``N x N`` equispaced nodes ``lo + j (hi - lo) / N`` the 2-D real FFT (``rfft2``, wavenumbers
``k = 2 pi m / (hi - lo)``) splits each species into the stiff diagonal linear part and the
nonlinear reaction,

    U_t = (-eps_u |k|^2 - b) U + F[b - u v^2],
    V_t = (-eps_v |k|^2 - d) V + F[u v^2],

integrated by ETDRK4 (Cox & Matthews 2002) with the contour-integral coefficients of Kassam &
Trefethen 2005 (:func:`kanpde.pde.reference.spectral.etdrk4_coefficients`), the method of
Chebfun's ``spin2`` for this system. No dealiasing is applied: the cubic term's aliasing
error is part of what the self-convergence tests measure. The initial fields are interpolated
at the nodes (the benchmark's Gaussians are periodic to machine precision on ``[-1, 1)^2``).

Fourth order in ``dt``; spectrally accurate in ``N`` once the patterns are resolved (both
measured in the tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from kanpde.pde.reference.spectral import etdrk4_coefficients, etdrk4_steps

Field = Callable[[np.ndarray, np.ndarray], np.ndarray]


def gray_scott(
    u0: Field,
    v0: Field,
    eps: tuple[float, float] = (1e-5, 5e-6),
    b: float = 0.04,
    d: float = 0.1,
    modes: int = 256,
    dt: float = 0.25,
    t_end: float = 200.0,
    n_out: int = 51,
    lo: float = -1.0,
    hi: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ETDRK4 solution of the Gray-Scott system (module docstring), periodic on ``[lo, hi)^2``.

    Args:
        u0, v0: initial fields, numpy ``(x (N, N), y (N, N)) -> (N, N)``.
        eps: diffusivities ``(eps_u, eps_v) > 0``; ``b``, ``d``: feed and removal rates.
        modes: nodes per axis ``N`` (even, >= 4).
        dt: largest allowed step; the step used is ``t_end / ((n_out - 1) m)`` with the
            smallest integer ``m`` that makes it ``<= dt``, so outputs fall on steps.
        t_end, n_out: output times ``linspace(0, t_end, n_out)``.

    Returns:
        ``x (N,)`` (the nodes of either axis), ``t (n_out,)`` and ``w (n_out, 2, N, N)``, with
        ``w[i, 0, p, q] = u(x_p, y_q, t_i)`` and ``w[i, 1]`` the same for ``v``.
    """
    if modes < 4 or modes % 2:
        raise ValueError(f"modes must be an even integer >= 4, got {modes!r}")
    if not (min(eps) > 0 and dt > 0 and t_end > 0 and hi > lo):
        raise ValueError(f"eps, dt, t_end must be > 0 and hi > lo, got {eps}, {dt}, {t_end}, "
                         f"[{lo}, {hi}]")
    if n_out < 2:
        raise ValueError(f"n_out must be >= 2, got {n_out}")
    x = lo + (hi - lo) * np.arange(modes) / modes
    kx = 2 * np.pi / (hi - lo) * np.fft.fftfreq(modes, 1.0 / modes)  # (N,)
    ky = 2 * np.pi / (hi - lo) * np.arange(modes // 2 + 1)  # (N/2 + 1,)
    k2 = kx[:, None] ** 2 + ky[None, :] ** 2
    lin = np.stack([-eps[0] * k2 - b, -eps[1] * k2 - d])  # (2, N, N/2 + 1)
    per_out = max(1, math.ceil(t_end / (n_out - 1) / dt * (1 - 1e-12)))
    h = t_end / ((n_out - 1) * per_out)
    coefficients = tuple(c.reshape(lin.shape) for c in etdrk4_coefficients(lin.ravel(), h))
    feed = np.zeros(lin.shape[1:])
    feed[0, 0] = b * modes * modes  # F[b]: the constant's zero mode (numpy scaling)

    def nonlin(w: np.ndarray) -> np.ndarray:
        u, v = np.fft.irfft2(w, s=(modes, modes))  # both species: (2, N, N)
        r = np.fft.rfft2(u * v * v)
        return np.stack([feed - r, r])

    xx, yy = np.meshgrid(x, x, indexing="ij")
    fields0 = np.stack([np.asarray(u0(xx, yy), dtype=np.float64),
                        np.asarray(v0(xx, yy), dtype=np.float64)])
    w = np.fft.rfft2(fields0)
    out = np.empty((n_out, 2, modes, modes))
    out[0] = fields0
    for i in range(1, n_out):
        with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is reported below
            w = etdrk4_steps(w, per_out, nonlin, coefficients)
            out[i] = np.fft.irfft2(w, s=(modes, modes))
        if not np.isfinite(out[i]).all():
            raise FloatingPointError(f"Gray-Scott solve produced non-finite values by t = "
                                     f"{i * t_end / (n_out - 1):g}; reduce dt")
    return x, np.linspace(0.0, t_end, n_out), out

