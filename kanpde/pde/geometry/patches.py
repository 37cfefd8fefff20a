"""Boundary patches of n-dimensional solids (:mod:`kanpde.pde.geometry.solids`): sphere
surfaces and box faces, each drawn uniformly in its surface measure from a sampler's points of
the unit cube, with outward normals and distances.

========  ==================================================  =======================
patch     point from unit-cube point ``v``                    measure
========  ==================================================  =======================
sphere    ``c + r g / |g|``, ``g = Phi^-1(v)`` (``v`` in d-D)   ``2 pi^(d/2) r^(d-1) /
                                                              Gamma(d/2)``
face      the box face ``x_a = lo_a`` (or ``hi_a``), the other   ``prod_{i != a}
          coordinates ``lo + (hi - lo) v`` (``v`` in (d-1)-D)    (hi_i - lo_i)``
========  ==================================================  =======================

``Phi^-1`` is the standard normal quantile, so ``g`` is an isotropic Gaussian vector and
``g / |g|`` is uniform on the unit sphere. ``outward`` is +1 when the patch's own normal
(away from the sphere's centre; ``+e_a`` on a high face, ``-e_a`` on a low face) points out
of the solid, -1 when the patch bounds a removed part (a hole).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import ndtri


@dataclass(frozen=True)
class SpherePatch:
    """The sphere ``|x - center| = radius`` in ``len(center)`` dimensions."""

    center: tuple[float, ...]
    radius: float
    outward: float = 1.0

    @property
    def dim(self) -> int:
        return len(self.center)

    @property
    def unit_dim(self) -> int:
        return self.dim

    @property
    def measure(self) -> float:
        d = self.dim
        return 2 * math.pi ** (d / 2) * self.radius ** (d - 1) / math.gamma(d / 2)

    def draw(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points ``(m, d)`` and outward normals ``(m, d)`` from unit points ``(m, d)``."""
        g = ndtri(np.clip(v, 1e-12, 1 - 1e-12))
        g_norm = np.linalg.norm(g, axis=1, keepdims=True)
        g = np.where(g_norm > 0, g / np.maximum(g_norm, 1e-300), np.eye(1, self.dim))
        return np.asarray(self.center) + self.radius * g, self.outward * g

    def distance(self, x: np.ndarray) -> np.ndarray:
        return np.abs(np.linalg.norm(x - np.asarray(self.center), axis=1) - self.radius)

    def normal_at(self, x: np.ndarray) -> np.ndarray:
        d = x - np.asarray(self.center)
        return self.outward * d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-300)

    def flipped(self) -> SpherePatch:
        return replace(self, outward=-self.outward)


@dataclass(frozen=True)
class FacePatch:
    """The face ``x_axis = lo_axis`` (``side="low"``) or ``hi_axis`` of the box ``[lo, hi]``."""

    lo: tuple[float, ...]
    hi: tuple[float, ...]
    axis: int
    side: str
    outward: float = 1.0

    @property
    def dim(self) -> int:
        return len(self.lo)

    @property
    def unit_dim(self) -> int:
        return self.dim - 1

    @property
    def _free(self) -> list[int]:
        return [i for i in range(self.dim) if i != self.axis]

    @property
    def value(self) -> float:
        return self.lo[self.axis] if self.side == "low" else self.hi[self.axis]

    @property
    def measure(self) -> float:
        return float(np.prod([self.hi[i] - self.lo[i] for i in self._free]))

    def _normal(self) -> np.ndarray:
        e = np.zeros(self.dim)
        e[self.axis] = (-1.0 if self.side == "low" else 1.0) * self.outward
        return e

    def draw(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points ``(m, d)`` and outward normals from unit points ``(m, d - 1)``."""
        free = self._free
        x = np.empty((v.shape[0], self.dim))
        lo, hi = np.asarray(self.lo)[free], np.asarray(self.hi)[free]
        x[:, free] = lo + (hi - lo) * v
        x[:, self.axis] = self.value
        return x, np.broadcast_to(self._normal(), x.shape).copy()

    def distance(self, x: np.ndarray) -> np.ndarray:
        """Distance to the face: along the axis, plus the overshoot of the free coordinates."""
        free = self._free
        over = np.maximum(np.asarray(self.lo)[free] - x[:, free], 0) + np.maximum(
            x[:, free] - np.asarray(self.hi)[free], 0)
        return np.hypot(np.abs(x[:, self.axis] - self.value), np.linalg.norm(over, axis=1))

    def normal_at(self, x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self._normal(), x.shape).copy()

    def flipped(self) -> FacePatch:
        return replace(self, outward=-self.outward)


Patch = SpherePatch | FacePatch


def nearest_normals(x: np.ndarray, pieces: list) -> np.ndarray:
    """At points ``(N, d)`` on a boundary made of ``pieces`` (anything with ``distance(x)``
    and ``normal_at(x)``: patches, planar segments and arcs), the outward normal of each
    point's nearest piece: ``(N, d)``."""
    nearest = np.argmin(np.stack([piece.distance(x) for piece in pieces]), axis=0)
    out = np.zeros_like(x)
    for k, piece in enumerate(pieces):
        mask = nearest == k
        if np.any(mask):
            out[mask] = piece.normal_at(x[mask])
    return out
