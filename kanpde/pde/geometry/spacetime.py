"""Space-time domains: a spatial domain times a time interval.

``SpaceTime(space, t_end, t_start=0)`` is ``Omega x [t_start, t_end]`` with coordinates
``space.names + ("t",)``, for a spatial domain ``Omega`` that is a
:class:`~kanpde.pde.geometry.solids.Solid` or a planar
:class:`~kanpde.pde.geometry.shapes.Shape` (a box in space-time is simply a
:class:`~kanpde.pde.geometry.box.Box` with a coordinate ``"t"``). Its parts:

- the interior: drawn by rejection from the bounding box (uniform in ``|Omega| T``);
- the lateral boundary ``dOmega x [t_start, t_end]`` (``sample_boundary``): spatial boundary
  points with independently drawn times, outward normals ``(n_Omega, 0)``;
- the initial slice ``Omega x {t_start}`` (:meth:`SpaceTime.initial_slice`): interior points
  of ``Omega`` at ``t = t_start``, measure ``|Omega|``.
"""

from __future__ import annotations

import math

import numpy as np

from kanpde.pde.geometry.box import TIME_NAME, Box
from kanpde.pde.geometry.domain import Domain
from kanpde.pde.geometry.rejection import draw_inside
from kanpde.pde.sampling import Sampler, make_sampler, seed_children


class SpaceTime(Domain):
    """``space x [t_start, t_end]`` (see the module docstring)."""

    def __init__(self, space: Domain, t_end: float, t_start: float = 0.0) -> None:
        if not hasattr(space, "sample_boundary") or isinstance(space, Box):
            raise ValueError(f"SpaceTime needs a spatial Solid or Shape, got {space!r} (a box "
                             "in space-time is a Box with a coordinate 't')")
        if TIME_NAME in space.names:
            raise ValueError(f"the spatial domain already has a coordinate {TIME_NAME!r}")
        t0, t1 = float(t_start), float(t_end)
        if not (math.isfinite(t0) and math.isfinite(t1) and t0 < t1):
            raise ValueError(f"SpaceTime needs finite t_start < t_end, got [{t_start}, {t_end}]")
        self.space, self.t_start, self.t_end = space, t0, t1
        self.names = (*space.names, TIME_NAME)

    @property
    def duration(self) -> float:
        return self.t_end - self.t_start

    @property
    def bounds(self) -> Box:
        b = self.space.bounds
        return Box(self.names, (*b.lo, self.t_start), (*b.hi, self.t_end))

    @property
    def fills_bounds(self) -> bool:
        return self.space.fills_bounds

    @property
    def volume(self) -> float:
        return self.space.volume * self.duration

    def contains(self, x: np.ndarray, tol: float = 1e-12) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        t = x[:, -1]
        return self.space.contains(x[:, :-1], tol) & (t >= self.t_start - tol) & (
            t <= self.t_end + tol)

    def sample_interior(self, n: int, seed: int | None = None,
                        sampler: Sampler | str = "uniform") -> np.ndarray:
        return draw_inside(self.bounds, self.contains, n, seed, sampler,
                           self.space.volume / self.space.bounds.measure, repr(self))

    def _times(self, n: int, seed: int | None, sampler: Sampler | str) -> np.ndarray:
        return self.t_start + self.duration * make_sampler(sampler).unit(n, 1, seed)

    def sample_boundary(self, n: int, seed: int | None = None,
                        sampler: Sampler | str = "uniform", return_normals: bool = False):
        """``n`` points of the lateral boundary ``(n, d + 1)`` (and normals ``(n, d + 1)``)."""
        s_space, s_time = seed_children(seed, 2)
        x, normal = self.space.sample_boundary(n, s_space, sampler, return_normals=True)
        x = np.concatenate([x, self._times(len(x), s_time, sampler)], axis=1)
        normal = np.concatenate([normal, np.zeros((len(normal), 1))], axis=1)
        return (x, normal) if return_normals else x

    @property
    def boundary_measure(self) -> float:
        return self.space.boundary_measure * self.duration

    def outward_normals(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        normal = self.space.outward_normals(x[:, :-1])
        return np.concatenate([normal, np.zeros((len(normal), 1))], axis=1)

    def initial_slice(self) -> InitialSlice:
        """The slice ``Omega x {t_start}``."""
        return InitialSlice(self)

    def __repr__(self) -> str:
        return f"SpaceTime({self.space!r}, t in [{self.t_start:g}, {self.t_end:g}])"


class InitialSlice:
    """``Omega x {t_start}`` of a :class:`SpaceTime`: interior points of the space at the
    initial time (what initial conditions are drawn on)."""

    def __init__(self, domain: SpaceTime) -> None:
        self.domain = domain

    @property
    def measure(self) -> float:
        return self.domain.space.volume

    def sample(self, n: int, seed: int | None, sampler: Sampler | str) -> np.ndarray:
        x = self.domain.space.sample_interior(n, seed, sampler)
        return np.concatenate([x, np.full((len(x), 1), self.domain.t_start)], axis=1)

    def __repr__(self) -> str:
        return f"InitialSlice({self.domain!r})"
