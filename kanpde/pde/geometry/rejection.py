"""Drawing points of a domain by rejection from its bounding box.

A sampler's points of the bounding box ``B`` are kept where they lie in the domain ``D``;
since the sampler's density is uniform on ``B``, the kept points are uniform on ``D`` (for
quasi-random samplers: a low-discrepancy set restricted to ``D``). Rounds draw about
``1.2 (n - kept) / fraction + 16`` points, ``fraction ~ |D| / |B|``, each with its own seed
derived from ``seed``, until ``n`` points are kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from kanpde.pde.geometry.box import Box
from kanpde.pde.sampling import Sampler, make_sampler, seed_children

MAX_ROUNDS = 64


def check_count(n: int) -> int:
    """``int(n)`` when ``n`` is an integer >= 1, else ValueError."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"the number of points must be an integer >= 1, got {n!r}")
    return int(n)


def draw_inside(
    bounds: Box,
    contains: Callable[[np.ndarray], np.ndarray],
    n: int,
    seed: int | None,
    sampler: Sampler | str,
    fraction: float,
    what: str,
) -> np.ndarray:
    """``n`` points ``(n, d)`` of ``bounds`` where ``contains`` ``(m, d) -> (m,)`` holds,
    drawn by ``sampler`` (``fraction``: the expected kept share, for the round sizes)."""
    n = check_count(n)
    sampler = make_sampler(sampler)
    fraction = max(float(fraction), 1e-3)
    kept: list[np.ndarray] = []
    total = 0
    for round_seed in seed_children(seed, MAX_ROUNDS):
        m = int(math.ceil(1.2 * (n - total) / fraction)) + 16
        x = sampler.sample(bounds, m, seed=round_seed)
        x = x[contains(x)]
        kept.append(x)
        total += len(x)
        if total >= n:
            return np.concatenate(kept)[:n]
    raise RuntimeError(f"could not draw {n} points of {what}")


def draw_filtered(
    draw: Callable[[int, int], tuple[np.ndarray, np.ndarray]],
    keep: Callable[[np.ndarray], np.ndarray],
    n: int,
    seed: int | None,
    fraction: float,
    what: str,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of ``draw(m, seed) -> (x (m, d), normals (m, d))`` where ``keep(x)`` holds,
    in a random order (so that no part of a boundary is favoured by truncation)."""
    n = check_count(n)
    fraction = max(float(fraction), 1e-3)
    xs: list[np.ndarray] = []
    ns: list[np.ndarray] = []
    total = 0
    for round_seed in seed_children(seed, MAX_ROUNDS):
        m = int(math.ceil(1.2 * (n - total) / fraction)) + 16
        x, normal = draw(m, round_seed)
        mask = keep(x)
        xs.append(x[mask])
        ns.append(normal[mask])
        total += int(mask.sum())
        if total >= n:
            order = np.random.default_rng(round_seed).permutation(total)[:n]
            return np.concatenate(xs)[order], np.concatenate(ns)[order]
    raise RuntimeError(f"could not draw {n} points of {what}")
