"""Smooth Gaussian random fields built spectrally, evaluable (with gradient) anywhere.

The field is a stationary Gaussian process with squared-exponential covariance
``C(r) = sigma^2 exp(-|r|^2 / (2 l^2))``, represented on the periodic box of side ``period``
(2 by default, so a field on ``[0, 1]^d`` does not repeat) by the random Fourier series

    g(x) = sum_{k in H} sqrt(lam_k) (xi_k cos(w k.x) + eta_k sin(w k.x)),   w = 2 pi / period,

over the integer wave vectors ``k`` of a half lattice ``H`` (zero included, with its sine term
dropped), ``xi_k, eta_k ~ N(0, 1)`` i.i.d. from ``numpy.random.default_rng(seed)``, and
``lam_k`` proportional to the covariance's spectral density ``exp(-(w |k| l)^2 / 2)``
(doubled off zero to account for ``-k``), scaled so that ``Var g(x) = sum_k lam_k = sigma^2``.
Wave vectors with ``lam_k / lam_0 < 1e-16`` are dropped, so the series is exact to rounding.
The field and its gradient are evaluated in closed form, so it serves both a PINN residual
(torch, any device, differentiable) and a finite-volume solver (numpy).

In two dimensions the sum is evaluated separably: with ``C1 = cos(w k_1 x)``,
``S1 = sin(w k_1 x)`` ``(N, K)`` over ``k_1 = -K'..K'`` (likewise ``C2, S2`` in ``y``) and the
coefficients as dense ``(K, K)`` matrices ``A`` (cosine) and ``B`` (sine),

    g = rowsum((C1 A + S1 B) * C2 + (C1 B - S1 A) * S2),

four small matrix products instead of ``N x M`` trigonometric evaluations.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


class GaussianRandomField:
    """A fixed sample ``g`` of a smooth Gaussian random field on ``R^dim``.

    Args:
        length_scale: correlation length ``l > 0``.
        sigma: pointwise standard deviation ``> 0``.
        seed: integer seed of the sample.
        dim: number of coordinates.
        period: side of the periodic box the series lives on (``> 0``).
    """

    def __init__(
        self,
        length_scale: float = 0.2,
        sigma: float = 1.0,
        seed: int = 0,
        dim: int = 2,
        period: float = 2.0,
    ) -> None:
        for name, v in (("length_scale", length_scale), ("sigma", sigma), ("period", period)):
            if not (math.isfinite(float(v)) and float(v) > 0):
                raise ValueError(f"random field {name} must be finite and > 0, got {v!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"random field seed must be a non-negative integer, got {seed!r}")
        if isinstance(dim, bool) or int(dim) != dim or dim < 1:
            raise ValueError(f"random field dim must be a positive integer, got {dim!r}")
        self.length_scale = float(length_scale)
        self.sigma = float(sigma)
        self.seed = int(seed)
        self.dim = int(dim)
        self.period = float(period)
        w = 2.0 * math.pi / self.period
        kmax = int(math.ceil(math.sqrt(2.0 * math.log(1e16)) / (w * self.length_scale)))
        if (2 * kmax + 1) ** self.dim > 4_000_000:
            raise ValueError(
                f"random field length_scale={length_scale} is too small for period={period}: "
                f"it needs |k| <= {kmax} modes per axis"
            )
        grids = np.meshgrid(*([np.arange(-kmax, kmax + 1)] * self.dim), indexing="ij")
        lattice = np.stack([g.ravel() for g in grids], axis=1)  # ((2K+1)^dim, dim)
        nonzero = lattice != 0
        first = np.where(
            nonzero.any(axis=1), lattice[np.arange(len(lattice)), nonzero.argmax(1)], 1
        )
        # half lattice: the first non-zero component is positive (or k = 0)
        keep = (first > 0) & ((lattice**2).sum(axis=1) <= kmax * kmax)
        modes = lattice[keep]
        k = np.asarray(modes, dtype=np.float64).reshape(-1, self.dim)  # (M, dim)
        s = np.exp(-0.5 * (w * self.length_scale) ** 2 * (k**2).sum(axis=1))
        s = np.where((k != 0).any(axis=1), 2.0 * s, s)
        lam = self.sigma**2 * s / s.sum()  # (M,), sums to sigma^2
        rng = np.random.default_rng(self.seed)
        xi = rng.standard_normal(len(k))
        eta = rng.standard_normal(len(k))
        eta[~(k != 0).any(axis=1)] = 0.0
        self.wavevectors = w * k  # (M, dim)
        self.cos_coef = np.sqrt(lam) * xi  # (M,)
        self.sin_coef = np.sqrt(lam) * eta  # (M,)
        self._freq = w * np.arange(-kmax, kmax + 1, dtype=np.float64)  # (K,) per axis
        if self.dim == 2:
            ki = k.astype(int) + kmax
            self._a = np.zeros((2 * kmax + 1, 2 * kmax + 1))
            self._b = np.zeros_like(self._a)
            self._a[ki[:, 0], ki[:, 1]] = self.cos_coef
            self._b[ki[:, 0], ki[:, 1]] = self.sin_coef

    @property
    def n_modes(self) -> int:
        return len(self.cos_coef)

    def value_and_gradient(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``g(x)`` ``(N, 1)`` and ``grad g(x)`` ``(N, dim)`` for points ``x`` ``(N, dim)``."""
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"points must have shape (N, {self.dim}), got {tuple(x.shape)}")
        if self.dim == 2:
            return self._value_and_gradient_2d(x)
        kw = torch.as_tensor(self.wavevectors, dtype=x.dtype, device=x.device)  # (M, dim)
        a = torch.as_tensor(self.cos_coef, dtype=x.dtype, device=x.device)  # (M,)
        b = torch.as_tensor(self.sin_coef, dtype=x.dtype, device=x.device)  # (M,)
        theta = x @ kw.T  # (N, M)
        c, s = torch.cos(theta), torch.sin(theta)
        g = (c @ a + s @ b).unsqueeze(1)  # (N, 1)
        grad = (c * b - s * a) @ kw  # (N, dim)
        return g, grad

    def _value_and_gradient_2d(self, x: Tensor) -> tuple[Tensor, Tensor]:
        opts = {"dtype": x.dtype, "device": x.device}
        f = torch.as_tensor(self._freq, **opts)  # (K,)
        a = torch.as_tensor(self._a, **opts)  # (K, K)
        b = torch.as_tensor(self._b, **opts)
        t1, t2 = x[:, 0:1] * f, x[:, 1:2] * f  # (N, K)
        c1, s1, c2, s2 = torch.cos(t1), torch.sin(t1), torch.cos(t2), torch.sin(t2)
        p = c1 @ a + s1 @ b  # (N, K): multiplies cos(w k2 y)
        q = c1 @ b - s1 @ a  # (N, K): multiplies sin(w k2 y)
        g = (p * c2 + q * s2).sum(dim=1, keepdim=True)  # (N, 1)
        c1f, s1f = c1 * f, s1 * f  # x-derivatives of s1 and -c1
        px = -s1f @ a + c1f @ b
        qx = -s1f @ b - c1f @ a
        gx = (px * c2 + qx * s2).sum(dim=1, keepdim=True)
        gy = (-p * s2 * f + q * c2 * f).sum(dim=1, keepdim=True)
        return g, torch.cat([gx, gy], dim=1)

    def __call__(self, x: Tensor) -> Tensor:
        """``g(x)`` ``(N, 1)``."""
        return self.value_and_gradient(x)[0]

    def numpy(self, x: np.ndarray) -> np.ndarray:
        """``g`` at numpy points ``(..., dim)`` -> ``(...)`` float64 (chunked to bound memory)."""
        x = np.asarray(x, dtype=np.float64)
        flat = x.reshape(-1, self.dim)
        out = np.empty(len(flat))
        if self.dim == 2:
            chunk = 200_000
            for i in range(0, len(flat), chunk):
                t1 = np.outer(flat[i : i + chunk, 0], self._freq)
                t2 = np.outer(flat[i : i + chunk, 1], self._freq)
                c1, s1 = np.cos(t1), np.sin(t1)
                p = c1 @ self._a + s1 @ self._b
                q = c1 @ self._b - s1 @ self._a
                out[i : i + chunk] = (p * np.cos(t2) + q * np.sin(t2)).sum(axis=1)
            return out.reshape(x.shape[:-1])
        chunk = max(1, 2_000_000 // max(1, self.n_modes))
        for i in range(0, len(flat), chunk):
            theta = flat[i : i + chunk] @ self.wavevectors.T
            out[i : i + chunk] = np.cos(theta) @ self.cos_coef + np.sin(theta) @ self.sin_coef
        return out.reshape(x.shape[:-1])

    def numpy_direct(self, x: np.ndarray) -> np.ndarray:
        """``g`` by the direct sum over all modes (any ``dim``; slower; used to check the
        separable evaluation)."""
        flat = np.asarray(x, dtype=np.float64).reshape(-1, self.dim)
        theta = flat @ self.wavevectors.T
        out = np.cos(theta) @ self.cos_coef + np.sin(theta) @ self.sin_coef
        return out.reshape(np.shape(x)[:-1])

    def params(self) -> dict[str, float | int]:
        return {
            "length_scale": self.length_scale,
            "sigma": self.sigma,
            "seed": self.seed,
            "dim": self.dim,
            "period": self.period,
        }
