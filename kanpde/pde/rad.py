"""Residual-based adaptive distribution (RAD) resampling.

Wu, Zhu, Tan, Kartha, Lu (2023), "A comprehensive study of non-adaptive and residual-based
adaptive sampling for physics-informed neural networks", CMAME 403, 115671. Candidates
``x_i`` with residual magnitude ``e_i = |r(x_i)|`` are drawn with probability

    p_i  proportional to  e_i^k / mean_j(e_j^k) + c

so ``k`` sets how sharply the points concentrate on large residuals and ``c`` keeps a uniform
floor (``k = 0`` or ``c -> inf`` is uniform sampling; ``k = 1, c = 1`` is the paper's
recommended default). For a vector residual ``(M, q)`` the magnitude is the Euclidean norm
over the ``q`` components.
"""

from __future__ import annotations

import numpy as np


def rad_probabilities(residual: object, k: float = 1.0, c: float = 1.0) -> np.ndarray:
    """The RAD sampling probabilities ``(M,)`` (they sum to one) of residuals ``(M,)|(M, q)``."""
    if not (np.isfinite(k) and k >= 0):
        raise ValueError(f"RAD exponent k must be finite and >= 0, got {k}")
    if not (np.isfinite(c) and c >= 0):
        raise ValueError(f"RAD constant c must be finite and >= 0, got {c}")
    r = _to_numpy(residual)
    if r.ndim == 2:
        e = np.linalg.norm(r, axis=1)
    elif r.ndim == 1:
        e = np.abs(r)
    else:
        raise ValueError(f"residual must have shape (M,) or (M, q), got {r.shape}")
    if not np.isfinite(e).all():
        raise ValueError("residual holds non-finite values; cannot build RAD probabilities")
    if len(e) == 0:
        raise ValueError("residual is empty: RAD needs at least one candidate")
    ek = e**k
    mean = ek.mean()
    # All-zero residuals carry no information: the distribution is uniform.
    w = ek / mean + c if mean > 0 else np.ones_like(e)
    if w.sum() <= 0:
        w = np.ones_like(e)
    return w / w.sum()


def rad_resample(
    candidates: object,
    residual: object,
    n: int,
    k: float = 1.0,
    c: float = 1.0,
    seed: int | np.random.Generator | None = None,
    replace: bool = False,
) -> np.ndarray:
    """Draw ``n`` of the ``candidates`` ``(M, d)`` with RAD probabilities: ``(n, d)`` float64.

    Args:
        candidates: ``(M, d)`` candidate points (numpy or torch).
        residual: ``(M,)`` or ``(M, q)`` PDE residual at the candidates.
        n: number of points to draw; without replacement (the default) ``n <= M`` and at most
            the number of candidates with positive probability.
        k, c: the RAD exponent and uniform floor (see the module docstring).
        seed: seed or numpy Generator (local; no global state).
        replace: draw with replacement.
    """
    x = _to_numpy(candidates)
    if x.ndim != 2:
        raise ValueError(f"candidates must have shape (M, d), got {x.shape}")
    p = rad_probabilities(residual, k, c)
    if len(p) != len(x):
        raise ValueError(f"residual has {len(p)} rows but there are {len(x)} candidates")
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    n = int(n)
    if not replace and n > np.count_nonzero(p):
        raise ValueError(
            f"cannot draw n={n} distinct points from {np.count_nonzero(p)} candidates with "
            "positive probability; pass more candidates or replace=True"
        )
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    idx = rng.choice(len(x), size=n, replace=replace, p=p)
    return np.array(x[idx], dtype=np.float64)


def _to_numpy(a: object) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()  # type: ignore[union-attr]
    return np.asarray(a, dtype=np.float64)
