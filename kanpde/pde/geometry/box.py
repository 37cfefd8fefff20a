"""Axis-aligned boxes in space and space-time, their boundary faces and the initial slice.

A :class:`Box` is the product ``[lo_0, hi_0] x ... x [lo_{d-1}, hi_{d-1}]`` of named
coordinate intervals, e.g. ``Box(("x", "t"), (-1, 0), (1, 1))``. A coordinate named ``"t"`` is
time: it has no boundary faces, only the initial slice ``t = lo_t``. Points are rows of an
``(N, d)`` array whose columns follow ``Box.names``.

A :class:`Face` is the set of points of the box with one coordinate fixed at its low or high
value; its measure is the product of the remaining extents (1 for a point, the face of a
1-D box), which is what boundary points are distributed by.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kanpde.pde.geometry.domain import Domain, PointSampler

TIME_NAME = "t"


class Box(Domain):
    """The box ``prod_i [lo_i, hi_i]`` with named coordinates (a
    :class:`~kanpde.pde.geometry.domain.Domain` that is its own bounding box).

    Args:
        names: coordinate names, unique, e.g. ``("x", "y")`` or ``("x", "t")``.
        lo, hi: lower and upper bounds, one per name, with ``lo_i < hi_i``.

    Raises:
        ValueError: empty or mismatched names, repeated names, non-finite bounds, or an empty
            extent ``lo_i >= hi_i`` (the message names the coordinate).
    """

    def __init__(self, names: Sequence[str], lo: Sequence[float], hi: Sequence[float]) -> None:
        if isinstance(names, str):
            names = (names,)
        names = tuple(str(n) for n in names)
        lo = tuple(float(v) for v in np.atleast_1d(np.asarray(lo, dtype=float)))
        hi = tuple(float(v) for v in np.atleast_1d(np.asarray(hi, dtype=float)))
        if len(names) == 0:
            raise ValueError("Box names must name at least one coordinate")
        if len(set(names)) != len(names):
            raise ValueError(f"Box names must be unique, got {names}")
        if len(lo) != len(names) or len(hi) != len(names):
            raise ValueError(f"Box lo and hi need one bound per name {names}, got lo={lo}, hi={hi}")
        for n, a, b in zip(names, lo, hi, strict=True):
            if not (math.isfinite(a) and math.isfinite(b)):
                raise ValueError(f"Box bounds of {n!r} must be finite, got [{a}, {b}]")
            if not a < b:
                raise ValueError(f"Box extent of {n!r} is empty: lo={a} must be < hi={b}")
        self.names: tuple[str, ...] = names
        self.lo: tuple[float, ...] = lo
        self.hi: tuple[float, ...] = hi

    # ----------------------------------------------------------------------------- geometry
    @property
    def bounds(self) -> Box:
        """The box itself."""
        return self

    @property
    def fills_bounds(self) -> bool:
        return True

    def sample_interior(self, n: int, seed: int | None, sampler: PointSampler) -> np.ndarray:
        """``n`` points of the box ``(n, d)`` drawn by ``sampler`` (the samplers draw in
        boxes: ``sampler.sample(self, n, seed)``)."""
        return sampler.sample(self, n, seed)

    @property
    def extent(self) -> tuple[float, ...]:
        """``hi_i - lo_i`` per coordinate."""
        return tuple(b - a for a, b in zip(self.lo, self.hi, strict=True))

    @property
    def measure(self) -> float:
        """The volume ``prod_i (hi_i - lo_i)``."""
        return float(np.prod(self.extent))

    @property
    def time_name(self) -> str | None:
        """``"t"`` when the box has a time coordinate, else None."""
        return TIME_NAME if TIME_NAME in self.names else None

    @property
    def spatial_names(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if n != TIME_NAME)

    def index(self, name: str) -> int:
        """Column of coordinate ``name``; ValueError listing the names when unknown."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown coordinate {name!r}; the box has {self.names}") from None

    def faces(self) -> list[Face]:
        """The spatial boundary faces: for each spatial coordinate, its low then high face."""
        out = []
        for name in self.spatial_names:
            out.append(Face(self, self.index(name), "low"))
            out.append(Face(self, self.index(name), "high"))
        return out

    def face(self, name: str, side: str) -> Face:
        """The face where coordinate ``name`` is at its ``side`` ("low" | "high") bound."""
        return Face(self, self.index(name), side)

    def initial_slice(self) -> Face:
        """The slice ``t = lo_t``; ValueError when the box has no time coordinate."""
        if self.time_name is None:
            raise ValueError(f"the box {self.names} has no time coordinate 't'")
        return Face(self, self.index(TIME_NAME), "low")

    def contains(self, x: np.ndarray, tol: float = 1e-12) -> np.ndarray:
        """Whether each row of ``x`` ``(N, d)`` lies in the closed box (up to ``tol``): ``(N,)``."""
        x = as_array(x, self.dim)
        lo = np.asarray(self.lo) - tol
        hi = np.asarray(self.hi) + tol
        return np.all((x >= lo) & (x <= hi), axis=1)

    def scale_unit(self, u: np.ndarray) -> np.ndarray:
        """Map points of the unit cube ``(N, d)`` to the box: ``lo + (hi - lo) u``."""
        return np.asarray(self.lo) + np.asarray(self.extent) * u

    def grid_axes(self, counts: Sequence[int]) -> list[np.ndarray]:
        """``counts[i]`` equispaced values from ``lo_i`` to ``hi_i`` (both included) per axis."""
        if len(counts) != self.dim:
            raise ValueError(f"grid counts need one entry per coordinate {self.names}")
        return [np.linspace(a, b, int(m)) for a, b, m in zip(self.lo, self.hi, counts, strict=True)]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Box)
            and self.names == other.names
            and self.lo == other.lo
            and self.hi == other.hi
        )

    def __hash__(self) -> int:
        return hash((self.names, self.lo, self.hi))

    def __repr__(self) -> str:
        ranges = ", ".join(
            f"{n} in [{a:g}, {b:g}]" for n, a, b in zip(self.names, self.lo, self.hi, strict=True)
        )
        return f"Box({ranges})"


@dataclass(frozen=True, eq=True)
class Face:
    """The part of ``box`` where coordinate ``axis`` equals its ``side`` bound.

    ``normal`` is the outward normal sign along ``axis`` (-1 on the low face, +1 on the high);
    ``free`` are the indices of the other coordinates, over which the face extends.
    """

    box: Box
    axis: int
    side: str

    def __post_init__(self) -> None:
        if self.side not in ("low", "high"):
            raise ValueError(f"face side must be 'low' or 'high', got {self.side!r}")
        if not 0 <= self.axis < self.box.dim:
            raise ValueError(f"face axis {self.axis} outside 0..{self.box.dim - 1}")

    @property
    def name(self) -> str:
        return self.box.names[self.axis]

    @property
    def value(self) -> float:
        return self.box.lo[self.axis] if self.side == "low" else self.box.hi[self.axis]

    @property
    def normal(self) -> float:
        return -1.0 if self.side == "low" else 1.0

    @property
    def free(self) -> tuple[int, ...]:
        return tuple(i for i in range(self.box.dim) if i != self.axis)

    @property
    def measure(self) -> float:
        """Product of the free extents (1 for the zero-dimensional face of a 1-D box)."""
        return float(np.prod([self.box.extent[i] for i in self.free]))

    def free_box(self) -> Box | None:
        """The box of the free coordinates (None for a point face)."""
        if not self.free:
            return None
        b = self.box
        free = self.free
        return Box([b.names[i] for i in free], [b.lo[i] for i in free], [b.hi[i] for i in free])

    def embed(self, free_points: np.ndarray) -> np.ndarray:
        """Insert the fixed coordinate into points of the free box ``(N, d-1)`` -> ``(N, d)``."""
        free_points = np.asarray(free_points, dtype=np.float64)
        free_points = free_points.reshape(free_points.shape[0], len(self.free))
        out = np.empty((free_points.shape[0], self.box.dim), dtype=np.float64)
        out[:, list(self.free)] = free_points
        out[:, self.axis] = self.value
        return out

    def distance(self, x: np.ndarray) -> np.ndarray:
        """``|x[:, axis] - value|`` for points ``(N, d)``: ``(N,)``."""
        return np.abs(as_array(x, self.box.dim)[:, self.axis] - self.value)

    def contains(self, x: np.ndarray, tol: float = 1e-12) -> np.ndarray:
        """Whether each point ``(N, d)`` lies on this face (up to ``tol``): ``(N,)``."""
        return self.box.contains(x, tol) & (self.distance(x) <= tol)

    def __repr__(self) -> str:
        return f"Face({self.name}={self.value:g})"


def as_array(x: object, dim: int) -> np.ndarray:
    """Points ``(N, dim)`` as a float64 array (tensors detached); ValueError for another
    shape."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()  # type: ignore[union-attr]
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"points must have shape (N, {dim}), got {x.shape}")
    return x


def hull(names: Sequence[str], a: Box, b: Box) -> Box:
    """The smallest box holding ``a`` and ``b`` (the bounds of a union)."""
    return Box(names, np.minimum(a.lo, b.lo), np.maximum(a.hi, b.hi))


def overlap(names: Sequence[str], a: Box, b: Box, what: object) -> Box:
    """The intersection of ``a`` and ``b`` (the bounds of an intersection ``what``);
    ValueError when it is empty."""
    lo, hi = np.maximum(a.lo, b.lo), np.minimum(a.hi, b.hi)
    if np.any(lo >= hi):
        raise ValueError(f"{what!r} is empty")
    return Box(names, lo, hi)
