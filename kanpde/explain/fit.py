"""Fit ``a * g(b * x + c) + d`` to samples ``(x, y)`` of one edge, for every library ``g``.

Method (per function ``g``). Inputs are centred and scaled, ``u = (x - m) / s`` in
``[-1, 1]``, and ``a g(beta u + gamma) + d`` is fitted (then ``b = beta / s``,
``c = gamma - beta m / s``):

1. for ``g(z) = z`` and ``g(z) = z^2`` the fit is linear least squares (exact:
   ``a (x + c)^2 + d`` is every quadratic);
2. otherwise a search over a grid of ``(beta, gamma)`` where, for each pair, ``(a, d)`` are
   the linear least-squares solution (``a = cov(g, y) / var(g)``), so the quality is
   ``R^2 = corr(g, y)^2``; pairs that leave ``g``'s domain at some sample are skipped;
3. the best few grid pairs are refined in all four parameters by Levenberg-Marquardt
   (:func:`scipy.optimize.least_squares`) and the best result is kept.

Quality ``R^2 = 1 - SS_res / SS_tot`` (``SS_tot = sum (y - mean y)^2``); ``1 - R^2`` is kept
as ``unexplained`` for precision near 1. Ranking (:func:`rank_fits`): lower
``log10(max(1 - R^2, floor)) + complexity_weight * complexity`` is better.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import least_squares

from kanpde.explain.library import LIBRARY, LibraryFunction, get_functions

_BETAS = np.concatenate([-np.geomspace(0.1, 12.0, 36)[::-1], np.geomspace(0.1, 12.0, 36)])
_GAMMAS = np.linspace(-6.0, 6.0, 49)
_N_REFINE = 3
_MAX_POINTS = 512


@dataclass
class EdgeFit:
    """``a * g(b * x + c) + d`` with ``g`` = library function ``name``; its fit quality."""

    name: str
    a: float
    b: float
    c: float
    d: float
    r2: float
    unexplained: float  # 1 - R^2
    complexity: int

    def params(self) -> tuple[float, float, float, float]:
        return self.a, self.b, self.c, self.d

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """The fitted function at ``x`` (numpy)."""

        return self.a * LIBRARY[self.name].numpy(self.b * np.asarray(x) + self.c) + self.d

    def score(self, complexity_weight: float, floor: float) -> float:
        """``log10(max(1 - R^2, floor)) + complexity_weight * complexity`` (lower is better)."""
        return math.log10(max(self.unexplained, floor)) + complexity_weight * self.complexity

    def as_dict(self) -> dict:
        return asdict(self)


def _quality(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    ss_res = float(np.sum((y - pred) ** 2))
    if not math.isfinite(ss_res):
        return -math.inf, math.inf
    if ss_tot <= 1e-300:
        unexplained = 0.0 if ss_res <= 1e-300 else 1.0
    else:
        unexplained = ss_res / ss_tot
    return 1.0 - unexplained, unexplained


def _subsample(x: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(x)
    x, y = x[order], y[order]
    if x.size <= n:
        return x, y
    idx = np.unique(np.linspace(0, x.size - 1, n).round().astype(int))
    return x[idx], y[idx]


def _grid_search(fn: LibraryFunction, u: np.ndarray, y: np.ndarray) -> list[tuple[float, ...]]:
    """Best ``(r2, a, beta, gamma, d)`` over the (beta, gamma) grid, best first."""
    beta, gamma = np.meshgrid(_BETAS, _GAMMAS, indexing="ij")
    beta, gamma = beta.ravel(), gamma.ravel()
    z = beta[:, None] * u[None, :] + gamma[:, None]  # (P, N)
    ok = fn.valid(z).all(axis=1)
    with np.errstate(all="ignore"):
        g = fn.numpy(np.where(fn.valid(z), z, 1.0))
    ok &= np.isfinite(g).all(axis=1)
    gc = g - g.mean(axis=1, keepdims=True)
    yc = y - y.mean()
    var = np.einsum("pn,pn->p", gc, gc)
    cov = gc @ yc
    ok &= var > 1e-12 * max(float(yc @ yc), 1e-300) + 1e-300
    with np.errstate(all="ignore"):
        r2 = np.where(ok, cov**2 / np.where(ok, var, 1.0) / max(float(yc @ yc), 1e-300), -np.inf)
        a = np.where(ok, cov / np.where(ok, var, 1.0), 0.0)
    d = y.mean() - a * g.mean(axis=1)
    best = np.argsort(-r2)[:_N_REFINE]
    return [(float(r2[i]), float(a[i]), float(beta[i]), float(gamma[i]), float(d[i]))
            for i in best if np.isfinite(r2[i])]


def _refine(fn: LibraryFunction, u: np.ndarray, y: np.ndarray, p0: Sequence[float]
            ) -> np.ndarray:
    penalty = 1e3 * (1.0 + np.abs(y))

    def residual(p: np.ndarray) -> np.ndarray:
        z = p[1] * u + p[2]
        valid = fn.valid(z)
        with np.errstate(all="ignore"):
            r = p[0] * fn.numpy(np.where(valid, z, 1.0)) + p[3] - y
        return np.where(valid & np.isfinite(r), r, penalty)

    try:
        sol = least_squares(residual, np.asarray(p0, dtype=float), method="lm",
                            xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=300)
    except ValueError:
        return np.asarray(p0, dtype=float)
    return sol.x


def fit_function(x: np.ndarray, y: np.ndarray, fn: LibraryFunction | str) -> EdgeFit:
    """Best ``a * g(b * x + c) + d`` for one library function (see the module docstring).

    ``x``, ``y``: 1-D arrays of equal length (>= 2). Fits that find no valid parameters
    (e.g. ``log`` on no affine image inside its domain) get ``R^2 = -inf``.
    """
    if isinstance(fn, str):
        fn = get_functions([fn])[0]
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"x and y must be 1-D of equal length >= 2, got {x.shape}, {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite")
    x, y = _subsample(x, y, _MAX_POINTS)
    m = 0.5 * (x.max() + x.min())
    s = 0.5 * (x.max() - x.min())
    s = s if s > 0 else 1.0
    u = (x - m) / s
    if fn.name == "0":
        p = np.array([0.0, 1.0, 0.0, y.mean()])
    elif fn.name == "x":
        c1, c0 = np.polyfit(u, y, 1)
        p = np.array([c1, 1.0, 0.0, c0])
    elif fn.name == "x^2":
        q2, q1, q0 = np.polyfit(u, y, 2)
        if abs(q2) < 1e-300:
            p = np.array([0.0, 1.0, 0.0, q0])
        else:
            gamma = q1 / (2 * q2)
            p = np.array([q2, 1.0, gamma, q0 - q2 * gamma**2])
    else:
        starts = _grid_search(fn, u, y)
        best, best_un = None, math.inf
        for _, a, beta, gamma, d in starts:
            for cand in (np.array([a, beta, gamma, d]), _refine(fn, u, y, (a, beta, gamma, d))):
                z = cand[1] * u + cand[2]
                if not fn.valid(z).all():
                    continue
                with np.errstate(all="ignore"):
                    _, un = _quality(cand[0] * fn.numpy(z) + cand[3], y)
                if un < best_un:
                    best, best_un = cand, un
        if best is None:
            return EdgeFit(fn.name, 0.0, 1.0, 0.0, float(y.mean()), -math.inf, math.inf,
                           fn.complexity)
        p = best
    a, beta, gamma, d = (float(v) for v in p)
    b, c = beta / s, gamma - beta * m / s
    if fn.name == "x":  # canonical a x + d
        a, b, c, d = a * b, 1.0, 0.0, a * c + d
    with np.errstate(all="ignore"):
        r2, un = _quality(a * fn.numpy(b * x + c) + d, y)
    return EdgeFit(fn.name, float(a), float(b), float(c), float(d), r2, un, fn.complexity)


def fit_edge(x: np.ndarray, y: np.ndarray, functions: Sequence[str] | None = None
             ) -> list[EdgeFit]:
    """:func:`fit_function` for each library function (all when ``functions`` is None)."""
    return [fit_function(x, y, fn) for fn in get_functions(functions)]


def rank_fits(fits: Sequence[EdgeFit], complexity_weight: float = 0.5, floor: float = 1e-6
              ) -> list[EdgeFit]:
    """Fits sorted best first by :meth:`EdgeFit.score`; fits with ``R^2 = -inf`` last."""
    if not float(complexity_weight) >= 0:
        raise ValueError(f"complexity_weight={complexity_weight!r} must be >= 0")
    if not 0 < float(floor) < 1:
        raise ValueError(f"floor={floor!r} must lie in (0, 1)")
    finite = [f for f in fits if math.isfinite(f.unexplained)]
    rest = [f for f in fits if not math.isfinite(f.unexplained)]
    return sorted(finite, key=lambda f: f.score(complexity_weight, floor)) + rest
