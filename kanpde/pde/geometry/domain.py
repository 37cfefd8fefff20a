"""The domain protocol: what a problem, its conditions and its samplers ask of a domain.

Every domain (an axis-aligned :class:`~kanpde.pde.geometry.box.Box` in space or space-time,
a planar :class:`~kanpde.pde.geometry.shapes.Shape` such as a disk, a polygon or their set
operations) answers

- ``names`` ``(d,)`` and ``dim``: the named coordinates; points are rows ``(N, d)``;
- ``bounds``: the bounding box (what a model's inputs are scaled to, and what a test grid
  spans); a box is its own;
- ``contains(x, tol)``: ``(N, d) -> (N,)`` bool, the closed set up to ``tol``;
- ``sample_interior(n, seed, sampler)``: ``(n, d)`` points drawn by a sampler, uniform in the
  domain's measure (a box draws them with the sampler directly; a shape by rejection from
  its bounds, which keeps the sampler's density restricted to the shape);
- ``fills_bounds``: True when the domain is its bounding box, so grid-based test sets and
  reference solvers on the grid apply; a shape's test points are the grid points inside it.

A problem takes any domain (:class:`kanpde.pde.Problem`); its boundary conditions take the
faces of a box or the whole boundary of a domain.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

import numpy as np


class PointSampler(Protocol):
    """What a domain draws its points with: a :class:`kanpde.pde.sampling.Sampler`."""

    def sample(self, box, n: int, seed: int | None = None) -> np.ndarray: ...


class Domain(ABC):
    """A closed set of named coordinates; see the module docstring."""

    names: tuple[str, ...]

    @property
    def dim(self) -> int:
        return len(self.names)

    @property
    @abstractmethod
    def bounds(self) -> Domain:
        """The bounding :class:`~kanpde.pde.geometry.box.Box` (named by :attr:`names`)."""

    @property
    @abstractmethod
    def fills_bounds(self) -> bool:
        """Whether the domain is its bounding box."""

    @abstractmethod
    def contains(self, x: np.ndarray, tol: float = 1e-12) -> np.ndarray:
        """Whether each row of ``x`` ``(N, d)`` lies in the closed domain: ``(N,)``."""

    @abstractmethod
    def sample_interior(self, n: int, seed: int | None, sampler: PointSampler) -> np.ndarray:
        """``n`` points of the domain ``(n, d)``, uniform in its measure, drawn by
        ``sampler`` (:func:`kanpde.pde.make_sampler`)."""
