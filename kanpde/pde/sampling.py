"""Collocation point samplers, reproducible from a seed.

Every sampler draws ``n`` points of the unit cube ``[0, 1]^d`` and maps them affinely onto a
:class:`~kanpde.pde.geometry.box.Box` (``lo + (hi - lo) u``). The same seed gives the same points;
``seed=None`` draws fresh entropy. No global random state is touched.

=========  ===========================================================================
uniform    i.i.d. uniform points (numpy ``default_rng(seed)``)
lhs        Latin hypercube (``scipy.stats.qmc.LatinHypercube``)
sobol      scrambled Sobol' sequence (``scipy.stats.qmc.Sobol``), first ``n`` points
halton     scrambled Halton sequence (``scipy.stats.qmc.Halton``)
grid       regular cell-centred grid (deterministic; the seed is ignored)
=========  ===========================================================================

The grid sampler puts ``m_i`` points on axis ``i`` at the cell centres
``lo_i + (j + 1/2)(hi_i - lo_i)/m_i``, with ``m_i`` proportional to the extent and
``prod_i m_i`` the closest such product to ``n`` (so it may return slightly more or fewer than
``n`` points: a grid of exactly ``n`` points does not exist for most ``n``).

Points on boundary faces are drawn with the same sampler in the face's free coordinates
(:func:`sample_faces`), ``n`` split over the faces in proportion to their measure.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy.stats import qmc

from kanpde.pde.geometry.box import Box, Face

SAMPLERS = ("uniform", "lhs", "sobol", "halton", "grid")


def seed_children(seed: int | np.random.SeedSequence | None, n: int) -> list[int]:
    """``n`` independent integer seeds derived from ``seed`` (fresh entropy when None)."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in ss.spawn(n)]


class Sampler:
    """Base class: ``sample(box, n, seed) -> (n, d)`` float64 points in ``box``."""

    name = "base"

    def unit(self, n: int, d: int, seed: int | None) -> np.ndarray:
        """``n`` points of ``[0, 1]^d``: ``(n, d)``."""
        raise NotImplementedError

    def sample(self, box: Box, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` points in ``box``: ``(n, box.dim)`` float64."""
        n = _check_n(n)
        return box.scale_unit(self.unit(n, box.dim, seed))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class UniformSampler(Sampler):
    name = "uniform"

    def unit(self, n: int, d: int, seed: int | None) -> np.ndarray:
        return np.random.default_rng(seed).random((n, d))


class _QMCSampler(Sampler):
    engine: type[qmc.QMCEngine]

    def unit(self, n: int, d: int, seed: int | None) -> np.ndarray:
        if n == 0:
            return np.empty((0, d))
        engine = _make_engine(self.engine, d, seed)
        with warnings.catch_warnings():
            # Sobol' warns when n is not a power of two; the first n points are still a
            # valid (if less balanced) low-discrepancy set, which is what we want.
            warnings.simplefilter("ignore", UserWarning)
            return engine.random(n)


class LHSSampler(_QMCSampler):
    name = "lhs"
    engine = qmc.LatinHypercube


class SobolSampler(_QMCSampler):
    name = "sobol"
    engine = qmc.Sobol


class HaltonSampler(_QMCSampler):
    name = "halton"
    engine = qmc.Halton


class GridSampler(Sampler):
    """Regular cell-centred grid with about ``n`` points (see the module docstring)."""

    name = "grid"

    def sample(self, box: Box, n: int, seed: int | None = None) -> np.ndarray:
        n = _check_n(n)
        counts = grid_counts(box.extent, n)
        axes = [
            a + (np.arange(m) + 0.5) * (b - a) / m
            for a, b, m in zip(box.lo, box.hi, counts, strict=True)
        ]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def unit(self, n: int, d: int, seed: int | None) -> np.ndarray:
        return self.sample(Box([f"u{i}" for i in range(d)], [0.0] * d, [1.0] * d), n)


def grid_counts(extent: Sequence[float], n: int) -> list[int]:
    """Points per axis ``m_i >= 1``, ``m_i ~ extent_i``, with ``prod m_i`` closest to ``n``."""
    d = len(extent)
    if n == 0:
        return [0] * d
    ext = np.asarray(extent, dtype=float)
    base = (n / np.prod(ext)) ** (1.0 / d) * ext
    best: list[int] | None = None
    # Try every rounding (floor/ceil) of the ideal counts, keep the closest product.
    for mask in range(2**d):
        cand = [
            max(1, int(math.ceil(b)) if (mask >> i) & 1 else int(math.floor(b)))
            for i, b in enumerate(base)
        ]
        if best is None or abs(math.prod(cand) - n) < abs(math.prod(best) - n):
            best = cand
    assert best is not None
    return best


_REGISTRY: dict[str, type[Sampler]] = {
    "uniform": UniformSampler,
    "lhs": LHSSampler,
    "sobol": SobolSampler,
    "halton": HaltonSampler,
    "grid": GridSampler,
}


def make_sampler(name: str | Sampler) -> Sampler:
    """The sampler called ``name`` (one of :data:`SAMPLERS`); a Sampler is returned as is."""
    if isinstance(name, Sampler):
        return name
    if name not in _REGISTRY:
        raise ValueError(f"unknown sampler {name!r}; allowed values: {', '.join(SAMPLERS)}")
    return _REGISTRY[name]()


def split_count(n: int, weights: Sequence[float]) -> list[int]:
    """Split ``n`` into non-negative integers proportional to ``weights`` (largest remainder).

    The parts sum to ``n`` exactly; ties go to the earlier entry.
    """
    n = _check_n(n)
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or len(w) == 0 or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(f"weights must be non-negative, finite and not all zero, got {weights}")
    exact = n * w / w.sum()
    parts = np.floor(exact).astype(int)
    rest = n - int(parts.sum())
    order = np.argsort(-(exact - parts), kind="stable")
    parts[order[:rest]] += 1
    return [int(p) for p in parts]


def sample_face(sampler: Sampler | str, face: Face, n: int, seed: int | None = None) -> np.ndarray:
    """``n`` points on ``face``: ``(n, d)``, the fixed coordinate set exactly."""
    sampler = make_sampler(sampler)
    n = _check_n(n)
    free = face.free_box()
    if free is None:
        return face.embed(np.empty((n, 0)))
    return face.embed(sampler.sample(free, n, seed))


def sample_faces(
    sampler: Sampler | str, faces: Sequence[Face], n: int, seed: int | None = None
) -> np.ndarray:
    """``n`` points over ``faces``, split in proportion to face measure: ``(n, d)``.

    Each face is sampled with its own seed derived from ``seed``; the points of face ``k``
    follow those of face ``k - 1``. (With the grid sampler the total is only about ``n``.)
    """
    if len(faces) == 0:
        raise ValueError("sample_faces needs at least one face")
    counts = split_count(n, [f.measure for f in faces])
    seeds = seed_children(seed, len(faces))
    parts = [sample_face(sampler, f, m, s) for f, m, s in zip(faces, counts, seeds, strict=True)]
    return np.concatenate(parts, axis=0)


def _make_engine(cls: type[qmc.QMCEngine], d: int, seed: int | None) -> qmc.QMCEngine:
    rng = np.random.default_rng(seed)
    params = inspect.signature(cls).parameters
    if "rng" in params:
        return cls(d, scramble=True, rng=rng)
    return cls(d, scramble=True, seed=rng)  # scipy < 1.15


def _check_n(n: int) -> int:
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"number of points n must be a non-negative integer, got {n!r}")
    return int(n)
