"""Coefficient fields: a scalar ``a(x)`` over some named coordinates, evaluated in a PDE
residual (torch, differentiable in nothing but the points) and by a reference solver (numpy).

=====================  ==========================================================
field                  ``a(x)``
=====================  ==========================================================
FunctionField          a given function (torch; optionally its numpy twin)
PiecewiseConstant      ``values[i]`` where ``breaks[i-1] <= x_axis < breaks[i]``
GridField              values on a regular grid, ``nearest`` or multilinear
                       interpolation (from arrays or an ``.npz`` file)
=====================  ==========================================================

A field is called with the points' coordinate columns in its own ``names`` order,
``(N, len(names)) -> (N, 1)``; :meth:`Field.at` picks them from a derivative accessor.
:func:`lognormal_grid` makes the log-normal random coefficient of PINNacle's Heat2d-VC:
``a = exp(g)``, ``g`` a standardised spectral Gaussian field with amplitude
``(|k|^2 + 1e-10)^(-alpha / 4)`` on an ``n x n`` grid.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor


class Field(ABC):
    """A scalar coefficient field over the coordinates ``names``."""

    names: tuple[str, ...]

    @abstractmethod
    def __call__(self, x: Tensor) -> Tensor:
        """``a`` at points ``(N, len(names))``: ``(N, 1)`` in ``x``'s dtype and device."""

    def numpy(self, x: np.ndarray) -> np.ndarray:
        """``a`` at points ``(n, len(names))``: ``(n,)`` float64."""
        with torch.no_grad():
            return self(torch.as_tensor(np.asarray(x, dtype=np.float64)))[:, 0].numpy()

    def at(self, u) -> Tensor:
        """``a`` at a derivative accessor's points (its columns named :attr:`names`)."""
        return self(torch.cat([u.x(n) for n in self.names], dim=1))


class FunctionField(Field):
    """``a = fn(x)`` for a torch function ``(N, d) -> (N, 1) | (N,)``."""

    def __init__(self, fn: Callable[[Tensor], Tensor], names: Sequence[str]) -> None:
        self.fn, self.names = fn, _names(names)

    def __call__(self, x: Tensor) -> Tensor:
        a = self.fn(x)
        return a.unsqueeze(1) if a.dim() == 1 else a


class PiecewiseConstant(Field):
    """``values[i]`` on ``breaks[i-1] <= x_axis < breaks[i]`` (``len(values) = len(breaks)
    + 1``, ``breaks`` increasing), e.g. ``k = 8`` below ``z = 0.5`` and ``10`` above:
    ``PiecewiseConstant("z", [0.5], [8.0, 10.0])``."""

    def __init__(self, axis: str, breaks: Sequence[float], values: Sequence[float]) -> None:
        b = np.asarray(breaks, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
        if b.ndim != 1 or v.ndim != 1 or len(v) != len(b) + 1:
            raise ValueError(f"PiecewiseConstant needs len(values) = len(breaks) + 1, got "
                             f"{len(v)} values and {len(b)} breaks")
        if np.any(np.diff(b) <= 0) or not (np.isfinite(b).all() and np.isfinite(v).all()):
            raise ValueError("PiecewiseConstant breaks must be finite and increasing, values "
                             "finite")
        self.names, self.breaks, self.values = (str(axis),), b, v

    def __call__(self, x: Tensor) -> Tensor:
        b = torch.as_tensor(self.breaks, dtype=x.dtype, device=x.device)
        v = torch.as_tensor(self.values, dtype=x.dtype, device=x.device)
        return v[torch.bucketize(x[:, 0].detach().contiguous(), b, right=True)].unsqueeze(1)


class GridField(Field):
    """Values ``(n_1, ..., n_d)`` on the grid ``meshgrid(*axes, indexing="ij")`` (each axis
    equispaced and increasing), interpolated by ``method``: ``nearest`` (the value of the
    nearest node: piecewise constant) or ``linear`` (multilinear). Points outside the grid
    take the value at the nearest boundary point."""

    METHODS = ("nearest", "linear")

    def __init__(self, axes: Sequence[np.ndarray], values: np.ndarray, names: Sequence[str],
                 method: str = "nearest") -> None:
        self.names = _names(names)
        axes = [np.asarray(a, dtype=np.float64) for a in axes]
        values = np.asarray(values, dtype=np.float64)
        if len(axes) != len(self.names) or values.shape != tuple(len(a) for a in axes):
            raise ValueError(f"GridField values {values.shape} must have one axis per name "
                             f"{self.names} of lengths {[len(a) for a in axes]}")
        for n, a in zip(self.names, axes, strict=True):
            step = np.diff(a)
            if len(a) < 2 or np.any(step <= 0) or np.ptp(step) > 1e-9 * max(1.0, step.mean()):
                raise ValueError(f"GridField axis {n!r} must be equispaced and increasing with "
                                 "at least 2 nodes")
        if not np.isfinite(values).all():
            raise ValueError("GridField values must be finite")
        if method not in self.METHODS:
            raise ValueError(f"unknown interpolation {method!r}; allowed: {self.METHODS}")
        self.axes, self.grid_values, self.method = axes, values, method

    @classmethod
    def from_file(cls, path: str | Path, method: str = "nearest") -> GridField:
        """A field from an ``.npz`` file with arrays ``values`` (the grid) and ``axis_<name>``
        for each coordinate, and a string array ``names`` (their order)."""
        with np.load(Path(path), allow_pickle=False) as data:
            if "names" not in data or "values" not in data:
                raise ValueError(f"{path}: a field file needs arrays 'names' and 'values'")
            names = [str(n) for n in data["names"]]
            missing = [n for n in names if f"axis_{n}" not in data]
            if missing:
                raise ValueError(f"{path}: no axis array for {missing} (axis_<name>)")
            return cls([data[f"axis_{n}"] for n in names], data["values"], names, method)

    def save(self, path: str | Path) -> None:
        """Write the field as :meth:`from_file` reads it."""
        np.savez(Path(path), values=self.grid_values, names=np.array(self.names),
                 **{f"axis_{n}": a for n, a in zip(self.names, self.axes, strict=True)})

    def __call__(self, x: Tensor) -> Tensor:
        values = torch.as_tensor(self.grid_values, dtype=x.dtype, device=x.device)
        x = x.detach()
        pos = []  # fractional node index per axis, clamped to the grid
        for i, a in enumerate(self.axes):
            h = (a[-1] - a[0]) / (len(a) - 1)
            pos.append(((x[:, i] - a[0]) / h).clamp(0, len(a) - 1))
        if self.method == "nearest":
            index = tuple(torch.round(p).long() for p in pos)
            return values[index].unsqueeze(1)
        lo = [torch.clamp(torch.floor(p).long(), max=len(a) - 2) for p, a in
              zip(pos, self.axes, strict=True)]
        frac = [p - f for p, f in zip(pos, lo, strict=True)]
        out = torch.zeros_like(x[:, 0])
        for corner in range(2 ** len(self.axes)):
            weight, index = torch.ones_like(out), []
            for i in range(len(self.axes)):
                up = (corner >> i) & 1
                weight = weight * (frac[i] if up else 1 - frac[i])
                index.append(lo[i] + up)
            out = out + weight * values[tuple(index)]
        return out.unsqueeze(1)


def lognormal_grid(n: int, alpha: float = 4.0, seed: int = 0) -> np.ndarray:
    """``exp(g)`` on an ``n x n`` grid: ``g`` the real part of the inverse FFT of white
    complex noise times ``(kx^2 + ky^2 + 1e-10)^(-alpha/4)`` (zero mode removed), standardised
    to mean 0 and standard deviation 1. ``(n, n)``, indexed ``[ix, iy]``."""
    if isinstance(n, bool) or int(n) != n or n < 4:
        raise ValueError(f"the grid needs n >= 4 nodes per axis, got {n!r}")
    if not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be finite and > 0, got {alpha!r}")
    rng = np.random.default_rng(seed)
    k = np.fft.fftfreq(n) * n
    kx, ky = np.meshgrid(k, k, indexing="ij")
    amplitude = (kx**2 + ky**2 + 1e-10) ** (-alpha / 4)
    amplitude[0, 0] = 0.0
    noise = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
    g = np.real(np.fft.ifft2(amplitude * noise))
    g = (g - g.mean()) / g.std()
    return np.exp(g)


def _names(names: Sequence[str]) -> tuple[str, ...]:
    names = (names,) if isinstance(names, str) else tuple(str(n) for n in names)
    if not names or len(set(names)) != len(names):
        raise ValueError(f"a field needs distinct coordinate names, got {names}")
    return names
