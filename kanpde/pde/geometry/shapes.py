"""Planar domains beyond boxes: disks, polygons and their set operations, with samplers of
the interior (uniform in area) and of the boundary (uniform in arc length).

A shape is a closed set ``Omega`` in the plane of two named coordinates (``("x", "y")`` by
default). Every shape answers

- ``contains(x)``: ``(N, 2) -> (N,)`` bool, the closed set up to ``tol``;
- ``bounds``: the bounding :class:`~kanpde.pde.geometry.box.Box` (what a model is scaled to);
- ``boundary()``: the boundary as :class:`Piece` s (segments and arcs) with their lengths
  and outward normals;
- ``sample_interior(n, seed, sampler)`` and ``sample_boundary(n, seed, sampler)``:
  ``(n, 2)`` points (with ``return_normals=True`` also the outward normals ``(n, 2)``).

Interior points are drawn from the bounding box by the given sampler and kept when inside
(rejection keeps the sampler's uniform density, restricted to ``Omega``). Boundary points
are drawn uniformly in arc length on each piece of the children's boundaries and kept where
the set operation keeps that part of the boundary:

    boundary(A | B) = (dA outside B) + (dB outside A)
    boundary(A - B) = (dA outside B) + (dB inside A, normal reversed)
    boundary(A & B) = (dA inside B)  + (dB inside A)

(the parts on both boundaries, of measure zero for shapes in general position, are not
treated specially).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from kanpde.pde.geometry.box import Box, hull, overlap
from kanpde.pde.geometry.domain import Domain
from kanpde.pde.geometry.patches import nearest_normals
from kanpde.pde.geometry.pieces import Piece, as_points, kept_boundary
from kanpde.pde.sampling import Sampler, make_sampler, seed_children

_MAX_ROUNDS = 64


class Shape(Domain):
    """A closed planar set (a :class:`~kanpde.pde.geometry.domain.Domain`); see the module
    docstring."""

    names: tuple[str, str] = ("x", "y")

    @property
    def fills_bounds(self) -> bool:
        return False

    @abstractmethod
    def boundary_parts(self) -> list[tuple[Piece, Shape | None, str]]:
        """The boundary as ``(piece, other, keep)``: the part of ``piece`` where a point is
        ``keep`` ("outside" / "inside") ``other`` (``other=None``: the whole piece)."""

    def boundary(self) -> list[Piece]:
        return [piece for piece, _, _ in self.boundary_parts()]

    @property
    def measure_estimate(self) -> float:
        """The area, exact for disks and polygons; a 2^16-point Sobol estimate otherwise."""
        u = make_sampler("sobol").sample(self.bounds, 1 << 16, seed=0)
        return self.bounds.measure * float(np.mean(self.contains(u)))

    @property
    def volume(self) -> float:
        """The area (the domain protocol's measure): :attr:`measure_estimate`."""
        return self.measure_estimate

    @property
    def boundary_measure(self) -> float:
        """The boundary length: :attr:`perimeter`."""
        return self.perimeter

    def __or__(self, other: Shape) -> Shape:
        return Union(self, other)

    def __sub__(self, other: Shape) -> Shape:
        return Difference(self, other)

    def __and__(self, other: Shape) -> Shape:
        return Intersection(self, other)

    # ------------------------------------------------------------------------- sampling
    def sample_interior(self, n: int, seed: int | None = None,
                        sampler: Sampler | str = "uniform") -> np.ndarray:
        """``n`` points of the shape, uniform in area (rejection from :attr:`bounds`)."""
        n = _check_n(n)
        sampler = make_sampler(sampler)
        fraction = max(self.measure_estimate / self.bounds.measure, 1e-3)
        kept: list[np.ndarray] = []
        total = 0
        for round_seed in seed_children(seed, _MAX_ROUNDS):
            m = int(math.ceil(1.2 * (n - total) / fraction)) + 16
            x = sampler.sample(self.bounds, m, seed=round_seed)
            x = x[self.contains(x)]
            kept.append(x)
            total += len(x)
            if total >= n:
                return np.concatenate(kept)[:n]
        raise RuntimeError(f"could not draw {n} interior points of {self!r}")

    def sample_boundary(self, n: int, seed: int | None = None,
                        sampler: Sampler | str = "uniform", return_normals: bool = False):
        """``n`` boundary points, uniform in arc length, and (optionally) outward normals."""
        n = _check_n(n)
        sampler = make_sampler(sampler)
        parts = self.boundary_parts()
        total_length = sum(piece.length for piece, _, _ in parts)
        xs: list[np.ndarray] = []
        ns: list[np.ndarray] = []
        total = 0
        for round_seed in seed_children(seed, _MAX_ROUNDS):
            m = 2 * (n - total) + 16
            u = sampler.unit(m, 1, round_seed)[:, 0] * total_length  # arc length, all pieces
            x, normal = kept_boundary(parts, u)
            xs.append(x)
            ns.append(normal)
            total += len(x)
            if total >= n:
                order = np.random.default_rng(round_seed).permutation(total)[:n]
                x_all, n_all = np.concatenate(xs)[order], np.concatenate(ns)[order]
                return (x_all, n_all) if return_normals else x_all
        raise RuntimeError(f"could not draw {n} boundary points of {self!r}")

    @property
    def perimeter(self) -> float:
        """The boundary length: exact for disks and polygons, else the kept fraction of 2^14
        arc-length samples of the children's boundaries."""
        parts = self.boundary_parts()
        total = sum(piece.length for piece, _, _ in parts)
        if all(other is None for _, other, _ in parts):
            return total
        m = 1 << 14  # midpoint rule in arc length
        kept, _ = kept_boundary(parts, (np.arange(m) + 0.5) / m * total)
        return total * len(kept) / m

    def outward_normals(self, x: np.ndarray) -> np.ndarray:
        """The outward unit normal at boundary points ``(N, 2)``: that of the nearest kept
        boundary piece, ``(N, 2)``."""
        return nearest_normals(as_points(x), [piece for piece, _, _ in self.boundary_parts()])

    def on_boundary(self, x: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        """Whether each point ``(N, 2)`` lies on the boundary (within ``tol``)."""
        x = as_points(x)
        inner = [_offset(x, d) for d in ((tol, 0), (-tol, 0), (0, tol), (0, -tol))]
        inside = [self.contains(p, tol=0.0) for p in inner]
        some_in = np.any(inside, axis=0)
        some_out = ~np.all(inside, axis=0)
        return self.contains(x, tol=tol) & some_in & some_out


class Disk(Shape):
    """The closed disk ``|x - center| <= radius``."""

    def __init__(self, center: Sequence[float] = (0.0, 0.0), radius: float = 1.0,
                 names: Sequence[str] = ("x", "y")) -> None:
        c = tuple(float(v) for v in center)
        r = float(radius)
        if len(c) != 2 or not all(math.isfinite(v) for v in c):
            raise ValueError(f"Disk center must be two finite numbers, got {center!r}")
        if not (math.isfinite(r) and r > 0):
            raise ValueError(f"Disk radius must be finite and > 0, got {radius!r}")
        self.center, self.radius, self.names = c, r, _names(names)

    def contains(self, x: np.ndarray, tol: float = 1e-12) -> np.ndarray:
        x = as_points(x)
        return np.hypot(x[:, 0] - self.center[0], x[:, 1] - self.center[1]) <= self.radius + tol

    @property
    def bounds(self) -> Box:
        (cx, cy), r = self.center, self.radius
        return Box(self.names, (cx - r, cy - r), (cx + r, cy + r))

    @property
    def measure_estimate(self) -> float:
        return math.pi * self.radius**2

    def boundary_parts(self) -> list[tuple[Piece, Shape | None, str]]:
        return [(Piece("arc", (*self.center, self.radius, 0.0, 2 * math.pi)), None, "")]

    def __repr__(self) -> str:
        return f"Disk(center={self.center}, radius={self.radius:g})"


class Polygon(Shape):
    """The closed simple polygon with the given vertices (either orientation), e.g. the
    L-shape ``Polygon([(-1,-1), (1,-1), (1,0), (0,0), (0,1), (-1,1)])``."""

    def __init__(self, vertices: Sequence[Sequence[float]],
                 names: Sequence[str] = ("x", "y")) -> None:
        v = np.asarray(vertices, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise ValueError(f"Polygon needs at least 3 vertices (x, y), got shape {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError("Polygon vertices must be finite")
        area = 0.5 * float(np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]))
        if abs(area) < 1e-14:
            raise ValueError("Polygon has zero area (collinear or repeated vertices)")
        self.vertices = v if area > 0 else v[::-1].copy()  # counter-clockwise
        self.area = abs(area)
        self.names = _names(names)

    def contains(self, x: np.ndarray, tol: float = 1e-12) -> np.ndarray:
        x = as_points(x)
        a = self.vertices
        b = np.roll(a, -1, axis=0)
        inside = np.zeros(len(x), dtype=bool)
        for (ax, ay), (bx, by) in zip(a, b, strict=True):  # even-odd rule
            crosses = (ay > x[:, 1]) != (by > x[:, 1])
            with np.errstate(divide="ignore", invalid="ignore"):
                xc = ax + (x[:, 1] - ay) * (bx - ax) / (by - ay)
            inside ^= crosses & (x[:, 0] < xc)
        return inside | (self.distance_to_boundary(x) <= tol)

    def distance_to_boundary(self, x: np.ndarray) -> np.ndarray:
        """Euclidean distance of each point ``(N, 2)`` to the nearest edge: ``(N,)``."""
        return np.min(np.stack([piece.distance(x) for piece in self.boundary()]), axis=0)

    @property
    def bounds(self) -> Box:
        return Box(self.names, self.vertices.min(axis=0), self.vertices.max(axis=0))

    @property
    def measure_estimate(self) -> float:
        return self.area

    def boundary_parts(self) -> list[tuple[Piece, Shape | None, str]]:
        a = self.vertices
        b = np.roll(a, -1, axis=0)  # counter-clockwise: the right-hand normal points out
        return [(Piece("segment", (*map(float, p), *map(float, q))), None, "")
                for p, q in zip(a, b, strict=True)]

    def __repr__(self) -> str:
        return f"Polygon({len(self.vertices)} vertices, area {self.area:g})"


class _SetOperation(Shape):
    def __init__(self, a: Shape, b: Shape) -> None:
        if not (isinstance(a, Shape) and isinstance(b, Shape)):
            raise TypeError(f"set operations combine shapes, got {a!r} and {b!r}")
        if a.names != b.names:
            raise ValueError(f"shapes of different coordinates: {a.names} and {b.names}")
        self.a, self.b, self.names = a, b, a.names

    def _parts(self, shape: Shape, other: Shape, keep: str, flip: bool = False):
        out = []
        for piece, other0, keep0 in shape.boundary_parts():
            if other0 is not None:  # nested: keep it where both rules keep it
                other0 = other0 if keep0 == "inside" else _Complement(other0)
                other_rule = other if keep == "inside" else _Complement(other)
                out.append((piece.flipped() if flip else piece,
                            Intersection(other0, other_rule), "inside"))
            else:
                out.append((piece.flipped() if flip else piece, other, keep))
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.a!r}, {self.b!r})"


class Union(_SetOperation):
    """``A | B``."""

    def contains(self, x, tol=1e-12):
        return self.a.contains(x, tol) | self.b.contains(x, tol)

    @property
    def bounds(self) -> Box:
        return hull(self.names, self.a.bounds, self.b.bounds)

    def boundary_parts(self):
        return self._parts(self.a, self.b, "outside") + self._parts(self.b, self.a, "outside")


class Difference(_SetOperation):
    """``A - B`` (the closure of A without B)."""

    def contains(self, x, tol=1e-12):
        return self.a.contains(x, tol) & ~self.b.contains(x, -tol if tol else 0.0)

    @property
    def bounds(self) -> Box:
        return self.a.bounds

    def boundary_parts(self):
        return self._parts(self.a, self.b, "outside") + self._parts(self.b, self.a, "inside",
                                                                    flip=True)


class Intersection(_SetOperation):
    """``A & B``."""

    def contains(self, x, tol=1e-12):
        return self.a.contains(x, tol) & self.b.contains(x, tol)

    @property
    def bounds(self) -> Box:
        return overlap(self.names, self.a.bounds, self.b.bounds, self)

    def boundary_parts(self):
        return self._parts(self.a, self.b, "inside") + self._parts(self.b, self.a, "inside")


class _Complement(Shape):
    """The complement of a shape, only as a rule inside nested set operations."""

    def __init__(self, shape: Shape) -> None:
        self.shape, self.names = shape, shape.names

    def contains(self, x, tol=1e-12):
        return ~self.shape.contains(x, -tol if tol else 1e-12)

    @property
    def bounds(self) -> Box:
        return self.shape.bounds

    def boundary_parts(self):
        raise NotImplementedError("a complement has no bounded boundary")


def _names(names: Sequence[str]) -> tuple[str, str]:
    names = tuple(str(n) for n in names)
    if len(names) != 2 or names[0] == names[1]:
        raise ValueError(f"a planar shape needs two distinct coordinate names, got {names}")
    return names  # type: ignore[return-value]


def _offset(x: np.ndarray, d: tuple[float, float]) -> np.ndarray:
    return x + np.asarray(d, dtype=np.float64)


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"the number of points must be an integer >= 1, got {n!r}")
    return int(n)
