"""n-dimensional solids: balls, boxes and their set operations, with samplers of the
interior (uniform in volume) and of the boundary (uniform in surface measure).

A solid is a closed set of ``d`` named coordinates (a
:class:`~kanpde.pde.geometry.domain.Domain`), e.g. the unit cube minus four balls,

    Cuboid((0, 0, 0), (1, 1, 1)) - Ball((0.4, 0.3, 0.6), 0.2) - Ball(...),

or the 5-D unit ball ``Ball((0,) * 5, 1.0)``. Every solid answers ``contains``, ``bounds``,
``volume``, ``sample_interior`` (rejection from the bounding box,
:mod:`kanpde.pde.geometry.rejection`), and its boundary: ``sample_boundary(n, seed, sampler,
return_normals)``, ``boundary_measure`` and ``outward_normals(x)``. The boundary is a list of
patches (:mod:`kanpde.pde.geometry.patches`: sphere surfaces and box faces), each with the
constraints under which its points belong to the solid's boundary:

    boundary(A | B) = (dA outside B) + (dB outside A)
    boundary(A - B) = (dA outside B) + (dB inside A, normal reversed)
    boundary(A & B) = (dA inside B)  + (dB inside A)

Boundary points are drawn on every patch in proportion to its measure and kept where its
constraints hold, so they are uniform in the measure of the kept boundary. (Planar polygons
live in :mod:`kanpde.pde.geometry.shapes`; a 2-D solid is a box, disks and their set
operations.)
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from kanpde.pde.geometry.box import TIME_NAME, Box, as_array, hull, overlap
from kanpde.pde.geometry.domain import Domain
from kanpde.pde.geometry.patches import FacePatch, Patch, SpherePatch, nearest_normals
from kanpde.pde.geometry.rejection import draw_filtered, draw_inside
from kanpde.pde.sampling import Sampler, make_sampler, seed_children, split_count

Constraint = tuple["Solid", str]  # (solid, "inside" | "outside")
Part = tuple[Patch, tuple[Constraint, ...]]


class Solid(Domain):
    """A closed set in ``d`` dimensions with a sampleable boundary (see the module docstring)."""

    names: tuple[str, ...]

    @property
    def fills_bounds(self) -> bool:
        return False

    @property
    @abstractmethod
    def volume(self) -> float:
        """The d-dimensional measure (exact for balls and boxes, else a Sobol estimate)."""

    @abstractmethod
    def parts(self) -> list[Part]:
        """The boundary patches with the constraints that keep their points."""

    # ------------------------------------------------------------------ set operations
    def __sub__(self, other: Solid | Box) -> Solid:
        return SolidDifference(self, as_solid(other))

    def __or__(self, other: Solid | Box) -> Solid:
        return SolidUnion(self, as_solid(other))

    def __and__(self, other: Solid | Box) -> Solid:
        return SolidIntersection(self, as_solid(other))

    # ------------------------------------------------------------------ interior
    def sample_interior(self, n: int, seed: int | None = None,
                        sampler: Sampler | str = "uniform") -> np.ndarray:
        """``n`` points ``(n, d)`` uniform in volume (rejection from :attr:`bounds`)."""
        return draw_inside(self.bounds, self.contains, n, seed, sampler,
                           self.volume / self.bounds.measure, repr(self))

    # ------------------------------------------------------------------ boundary
    def sample_boundary(self, n: int, seed: int | None = None,
                        sampler: Sampler | str = "uniform", return_normals: bool = False):
        """``n`` boundary points ``(n, d)``, uniform in surface measure, and (with
        ``return_normals``) their outward unit normals ``(n, d)``."""
        sampler = make_sampler(sampler)
        parts = self.parts()
        weights = [patch.measure for patch, _ in parts]

        def draw(m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
            xs, ns = [], []
            for (patch, rules), k, s in zip(parts, split_count(m, weights),
                                            seed_children(seed, len(parts)), strict=True):
                if k == 0:
                    continue
                v = np.empty((k, 0)) if patch.unit_dim == 0 else sampler.unit(k, patch.unit_dim, s)
                x, normal = patch.draw(v)
                mask = _keep(x, rules)
                xs.append(x[mask])
                ns.append(normal[mask])
            return np.concatenate(xs), np.concatenate(ns)

        x, normal = draw_filtered(draw, lambda x: np.ones(len(x), dtype=bool), n, seed,
                                  self.boundary_measure / sum(weights), f"the boundary of {self!r}")
        return (x, normal) if return_normals else x

    @cached_property
    def boundary_measure(self) -> float:
        """The measure of the boundary: exact when no patch is cut, else each cut patch's
        measure times the kept share of 2^13 Sobol points on it."""
        total = 0.0
        for patch, rules in self.parts():
            if not rules:
                total += patch.measure
                continue
            m = 1 << 13
            v = np.empty((m, 0)) if patch.unit_dim == 0 else make_sampler("sobol").unit(
                m, patch.unit_dim, 0)
            x, _ = patch.draw(v)
            total += patch.measure * float(np.mean(_keep(x, rules)))
        return total

    def outward_normals(self, x: np.ndarray) -> np.ndarray:
        """The outward unit normal at boundary points ``(N, d)``: that of the nearest patch."""
        return nearest_normals(as_array(x, self.dim), [patch for patch, _ in self.parts()])


class Ball(Solid):
    """The closed ball ``|x - center| <= radius`` in ``len(center)`` dimensions.

    ``names`` default to ``x, y, z`` (up to 3-D) or ``x1 .. xd``.
    """

    def __init__(self, center: Sequence[float], radius: float,
                 names: Sequence[str] | None = None) -> None:
        c = tuple(float(v) for v in np.atleast_1d(np.asarray(center, dtype=float)))
        r = float(radius)
        if not c or not all(math.isfinite(v) for v in c):
            raise ValueError(f"Ball center must be finite numbers, got {center!r}")
        if not (math.isfinite(r) and r > 0):
            raise ValueError(f"Ball radius must be finite and > 0, got {radius!r}")
        self.center, self.radius = c, r
        self.names = _names(names, len(c))

    def contains(self, x: np.ndarray, tol: float = 1e-12) -> np.ndarray:
        x = as_array(x, self.dim)
        return np.linalg.norm(x - np.asarray(self.center), axis=1) <= self.radius + tol

    @property
    def bounds(self) -> Box:
        c = np.asarray(self.center)
        return Box(self.names, c - self.radius, c + self.radius)

    @property
    def volume(self) -> float:
        d = self.dim
        return math.pi ** (d / 2) * self.radius**d / math.gamma(d / 2 + 1)

    def parts(self) -> list[Part]:
        return [(SpherePatch(self.center, self.radius), ())]

    def __repr__(self) -> str:
        return f"Ball(center={self.center}, radius={self.radius:g})"


class Cuboid(Solid):
    """The closed box ``prod_i [lo_i, hi_i]`` as a solid (every coordinate has two faces;
    a space-time domain is a :class:`~kanpde.pde.geometry.spacetime.SpaceTime`)."""

    def __init__(self, lo: Sequence[float], hi: Sequence[float],
                 names: Sequence[str] | None = None) -> None:
        lo_t = np.atleast_1d(np.asarray(lo, dtype=float))
        self.box = Box(_names(names, len(lo_t)), lo_t, hi)
        self.names = self.box.names

    @property
    def fills_bounds(self) -> bool:
        return True

    def contains(self, x: np.ndarray, tol: float = 1e-12) -> np.ndarray:
        return self.box.contains(x, tol)

    @property
    def bounds(self) -> Box:
        return self.box

    @property
    def volume(self) -> float:
        return self.box.measure

    def parts(self) -> list[Part]:
        b = self.box
        return [(FacePatch(b.lo, b.hi, i, side), ()) for i in range(b.dim)
                for side in ("low", "high")]

    def __repr__(self) -> str:
        return f"Cuboid({self.box!r})"


class _SolidOperation(Solid):
    symbol = "?"

    def __init__(self, a: Solid, b: Solid) -> None:
        if a.names != b.names:
            raise ValueError(f"solids of different coordinates: {a.names} and {b.names}")
        self.a, self.b, self.names = a, b, a.names

    @cached_property
    def volume(self) -> float:
        u = make_sampler("sobol").sample(self.bounds, 1 << 16, seed=0)
        return self.bounds.measure * float(np.mean(self.contains(u)))

    @staticmethod
    def _with(parts: list[Part], rule: Constraint, flip: bool = False) -> list[Part]:
        return [(patch.flipped() if flip else patch, (*rules, rule)) for patch, rules in parts]

    def __repr__(self) -> str:
        return f"({self.a!r} {self.symbol} {self.b!r})"


class SolidUnion(_SolidOperation):
    """``A | B``."""

    symbol = "|"

    def contains(self, x, tol=1e-12):
        return self.a.contains(x, tol) | self.b.contains(x, tol)

    @property
    def bounds(self) -> Box:
        return hull(self.names, self.a.bounds, self.b.bounds)

    def parts(self) -> list[Part]:
        return (self._with(self.a.parts(), (self.b, "outside"))
                + self._with(self.b.parts(), (self.a, "outside")))


class SolidDifference(_SolidOperation):
    """``A - B`` (the closure of A without B)."""

    symbol = "-"

    def contains(self, x, tol=1e-12):
        return self.a.contains(x, tol) & ~self.b.contains(x, -tol)

    @property
    def bounds(self) -> Box:
        return self.a.bounds

    def parts(self) -> list[Part]:
        return (self._with(self.a.parts(), (self.b, "outside"))
                + self._with(self.b.parts(), (self.a, "inside"), flip=True))


class SolidIntersection(_SolidOperation):
    """``A & B``."""

    symbol = "&"

    def contains(self, x, tol=1e-12):
        return self.a.contains(x, tol) & self.b.contains(x, tol)

    @property
    def bounds(self) -> Box:
        return overlap(self.names, self.a.bounds, self.b.bounds, self)

    def parts(self) -> list[Part]:
        return (self._with(self.a.parts(), (self.b, "inside"))
                + self._with(self.b.parts(), (self.a, "inside")))


def as_solid(domain: Solid | Box) -> Solid:
    """A solid as is; a :class:`Box` without a time coordinate as a :class:`Cuboid`."""
    if isinstance(domain, Solid):
        return domain
    if isinstance(domain, Box) and TIME_NAME not in domain.names:
        return Cuboid(domain.lo, domain.hi, domain.names)
    raise TypeError(f"set operations combine solids (Ball, Cuboid) or boxes without a time "
                    f"coordinate, got {domain!r}")


def _keep(x: np.ndarray, rules: tuple[Constraint, ...]) -> np.ndarray:
    mask = np.ones(len(x), dtype=bool)
    for solid, keep in rules:
        # a point on the other solid's surface is neither strictly inside nor outside: both
        # tests exclude it (such points have measure zero for solids in general position)
        mask &= solid.contains(x, -1e-12) if keep == "inside" else ~solid.contains(x, 1e-12)
    return mask


def _names(names: Sequence[str] | None, d: int) -> tuple[str, ...]:
    if names is None:
        return ("x", "y", "z")[:d] if d <= 3 else tuple(f"x{i + 1}" for i in range(d))
    names = (names,) if isinstance(names, str) else tuple(str(n) for n in names)
    if len(names) != d or len(set(names)) != d:
        raise ValueError(f"a solid in {d} dimensions needs {d} distinct coordinate names, "
                         f"got {names}")
    if TIME_NAME in names:
        raise ValueError(f"a solid is spatial: {TIME_NAME!r} is the time coordinate of a "
                         "SpaceTime domain")
    return names

