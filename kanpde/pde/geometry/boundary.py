"""Where a condition's points live: surfaces with a measure, a sampler and outward normals.

A boundary or initial condition (:mod:`kanpde.pde.conditions`) is given one of

==========================================  =============================================
``on``                                      its surface
==========================================  =============================================
faces of a :class:`Box` (a list)             those faces (:class:`FaceSet`)
a :class:`Box`                               its spatial faces
a domain with a boundary (a Solid, a Shape,  its whole boundary (:class:`Boundary`)
a SpaceTime)
``Boundary(domain, within=A, without=B)``    the part of the domain's boundary inside the
                                             region ``A`` and outside ``B``
the initial slice of a SpaceTime             its spatial interior at ``t_start``
==========================================  =============================================

``A`` and ``B`` are domains over some of the domain's coordinates (matched by name), e.g. the
four disks of a plate with holes: ``Boundary(plate, within=holes)`` is the holes' edges,
``Boundary(plate, without=holes)`` the outer square. Every surface answers ``bounds`` (the
bounding box of its domain), ``measure``, ``sample(sampler, n, seed) -> (n, d)`` (uniform in
its measure) and ``normals(x) -> (n, d)`` (outward unit normals of the domain at points on it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from kanpde.pde.geometry.box import Box, Face
from kanpde.pde.geometry.domain import Domain
from kanpde.pde.geometry.rejection import draw_filtered
from kanpde.pde.geometry.spacetime import InitialSlice
from kanpde.pde.sampling import Sampler, make_sampler, sample_faces


class Surface(ABC):
    """A set of points a condition is imposed on (see the module docstring)."""

    bounds: Box

    @property
    @abstractmethod
    def measure(self) -> float:
        """The surface measure (what boundary points are shared out by)."""

    @abstractmethod
    def sample(self, sampler: Sampler | str, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` points ``(n, d)``, uniform in :attr:`measure`."""

    def normals(self, x: np.ndarray) -> np.ndarray:
        """Outward unit normals ``(n, d)`` at points ``x`` ``(n, d)`` of the surface."""
        raise ValueError(f"{self!r} has no normal direction")


class FaceSet(Surface):
    """Faces of one box; the normal of a point is that of its nearest face."""

    def __init__(self, faces: Sequence[Face]) -> None:
        faces = tuple(faces)
        if not faces:
            raise ValueError("a condition needs at least one face")
        if len({f.box for f in faces}) != 1:
            raise ValueError("the faces of a condition belong to different boxes")
        self.faces, self.bounds = faces, faces[0].box

    @property
    def measure(self) -> float:
        return float(sum(f.measure for f in self.faces))

    def sample(self, sampler: Sampler | str, n: int, seed: int | None = None) -> np.ndarray:
        return sample_faces(sampler, self.faces, n, seed)

    def normals(self, x: np.ndarray) -> np.ndarray:
        nearest = np.argmin(np.stack([f.distance(x) for f in self.faces], axis=1), axis=1)
        out = np.zeros((len(x), self.bounds.dim))
        for k, f in enumerate(self.faces):
            out[nearest == k, f.axis] = f.normal
        return out

    def __repr__(self) -> str:
        return repr(list(self.faces))


class Boundary(Surface):
    """The boundary of ``domain``, optionally only its part inside ``within`` and outside
    ``without`` (regions over some of the domain's coordinates, matched by name)."""

    def __init__(self, domain: Domain, within: Domain | None = None,
                 without: Domain | None = None) -> None:
        if not all(hasattr(domain, a) for a in ("sample_boundary", "outward_normals",
                                                "boundary_measure")):
            raise ValueError(f"the boundary of {domain!r} cannot be sampled; give a Solid, a "
                             "planar Shape, a SpaceTime, or the faces of a Box")
        for region in (within, without):
            if region is not None:
                missing = [n for n in region.names if n not in domain.names]
                if missing:
                    raise ValueError(f"the region {region!r} has coordinates {missing} that "
                                     f"the domain {domain.names} lacks")
        self.domain, self.within, self.without = domain, within, without
        self.bounds = domain.bounds

    def _columns(self, region: Domain, x: np.ndarray) -> np.ndarray:
        return x[:, [self.domain.names.index(n) for n in region.names]]

    def keep(self, x: np.ndarray) -> np.ndarray:
        """Whether boundary points ``(n, d)`` lie in the selected part: ``(n,)``."""
        mask = np.ones(len(x), dtype=bool)
        if self.within is not None:
            mask &= self.within.contains(self._columns(self.within, x), 1e-9)
        if self.without is not None:
            mask &= ~self.without.contains(self._columns(self.without, x), 1e-9)
        return mask

    @cached_property
    def measure(self) -> float:
        """Exact for a whole boundary; else the kept share of 2^14 boundary points (seed 0)."""
        total = float(self.domain.boundary_measure)
        if self.within is None and self.without is None:
            return total
        x = self.domain.sample_boundary(1 << 14, 0, "sobol")
        share = float(np.mean(self.keep(x)))
        if share == 0:
            raise ValueError(f"{self!r} is empty: no boundary point of the domain lies in it")
        return total * share

    def sample(self, sampler: Sampler | str, n: int, seed: int | None = None) -> np.ndarray:
        sampler = make_sampler(sampler)
        share = self.measure / float(self.domain.boundary_measure)

        def draw(m: int, s: int) -> tuple[np.ndarray, np.ndarray]:
            x = self.domain.sample_boundary(m, s, sampler)
            return x, x

        x, _ = draw_filtered(draw, self.keep, n, seed, share, repr(self))
        return x

    def normals(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.domain.outward_normals(x), dtype=np.float64)

    def __repr__(self) -> str:
        parts = [repr(self.domain)]
        parts += [f"within={self.within!r}"] if self.within is not None else []
        parts += [f"without={self.without!r}"] if self.without is not None else []
        return f"Boundary({', '.join(parts)})"


class Slice(Surface):
    """The initial slice of a :class:`~kanpde.pde.geometry.spacetime.SpaceTime`."""

    def __init__(self, initial: InitialSlice) -> None:
        self.initial, self.bounds = initial, initial.domain.bounds

    @property
    def measure(self) -> float:
        return self.initial.measure

    def sample(self, sampler: Sampler | str, n: int, seed: int | None = None) -> np.ndarray:
        return self.initial.sample(n, seed, sampler)

    def __repr__(self) -> str:
        return repr(self.initial)


def as_surface(on: object) -> Surface:
    """The surface a condition given ``on`` lives on (see the module docstring)."""
    if isinstance(on, Surface):
        return on
    if isinstance(on, InitialSlice):
        return Slice(on)
    if isinstance(on, Box):
        return FaceSet(on.faces())
    if isinstance(on, Domain):
        return Boundary(on)
    if isinstance(on, Face):
        return FaceSet([on])
    if isinstance(on, Sequence) and not isinstance(on, str) and all(
            isinstance(f, Face) for f in on):
        return FaceSet(on)
    raise ValueError(f"a condition lives on faces of a Box, a Box, a domain's boundary (a "
                     f"Solid, a planar Shape, a SpaceTime) or a Boundary part, got {on!r}")
