"""From a composed sympy expression to a readable formula, and its error.

:func:`tidy` turns the raw composition (many float constants) into the reported formula:

1. ``expand`` (also inside function arguments), so nested affine maps collapse into one
   coefficient per term, e.g. ``cos(3.1415926 x - 3.1415927 y + 1e-11)``;
2. snapping: each float constant ``f`` is replaced by the simplest "nice" number within
   ``tol * max(1, |f|)`` -- 0, ``p/q`` and ``(p/q) pi`` with ``q <= 12``, ``|p| <= 24`` --
   else rounded to ``digits`` significant digits;
3. ``simplify`` (only when the expression is small enough, ``max_ops``);

each stage is kept only when its numerical error against the reference stays within
``accept_factor`` times the raw composition's error (or below ``1e-12``, absolutely), so the
reported formula is never worse than what the network computes by more than that.
:func:`formula_error` evaluates an expression with numpy (``sympy.lambdify``) on the test
points: ``max_abs`` and ``rel_l2`` against the reference values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy

from kanpde.train.metrics import rel_l2

_MAX_DEN = 12
_MAX_NUM = 24


def formula_error(expr: sympy.Expr, names: Sequence[str], coords: np.ndarray,
                  u_ref: np.ndarray) -> dict[str, float]:
    """``{"max_abs", "rel_l2"}`` of ``expr`` at ``coords`` ``(n, d)`` against ``u_ref`` ``(n,)``."""
    syms = [sympy.Symbol(n, real=True) for n in names]
    fn = sympy.lambdify(syms, expr, modules="numpy")
    coords = np.asarray(coords, dtype=np.float64)
    with np.errstate(all="ignore"):
        val = np.broadcast_to(np.asarray(fn(*coords.T), dtype=np.float64), (coords.shape[0],))
    ref = np.asarray(u_ref, dtype=np.float64).reshape(-1)
    err = val - ref
    if not np.all(np.isfinite(err)):
        return {"max_abs": math.inf, "rel_l2": math.inf}
    return {"max_abs": float(np.abs(err).max()), "rel_l2": rel_l2(err, ref)}


def nice_number(f: float, tol: float) -> sympy.Expr | None:
    """The simplest of 0, ``p/q``, ``(p/q) pi`` (``q <= 12``, ``|p| <= 24``) within
    ``tol * max(1, |f|)``, else None."""
    bound = tol * max(1.0, abs(f))
    if abs(f) <= bound:
        return sympy.Integer(0)
    best: tuple[int, sympy.Expr] | None = None
    for scale, sym in ((1.0, sympy.Integer(1)), (math.pi, sympy.pi)):
        r = Fraction(f / scale).limit_denominator(_MAX_DEN)
        if abs(r.numerator) <= _MAX_NUM and abs(float(r) * scale - f) <= bound:
            cost = r.denominator + (0 if scale == 1.0 else 3) + len(str(abs(r.numerator)))
            cand = sympy.Rational(r.numerator, r.denominator) * sym
            if best is None or cost < best[0]:
                best = (cost, cand)
    return None if best is None else best[1]


def snap(expr: sympy.Expr, tol: float, digits: int = 10) -> sympy.Expr:
    """Every float constant of ``expr`` to :func:`nice_number` or ``digits`` digits."""
    subs = {}
    for f in expr.atoms(sympy.Float):
        v = float(f)
        nice = nice_number(v, tol)
        subs[f] = nice if nice is not None else sympy.Float(float(f"{v:.{digits}g}"), digits)
    return expr.xreplace(subs)


@dataclass
class Formula:
    """The reported formula and how it was obtained."""

    expr: sympy.Expr
    raw_error: dict[str, float]
    error: dict[str, float]
    stage: str  # "raw" | "expanded" | "snapped" | "simplified"

    @property
    def text(self) -> str:
        return str(self.expr)

    @property
    def latex(self) -> str:
        return sympy.latex(self.expr)


def tidy(expr: sympy.Expr, names: Sequence[str], coords: np.ndarray, u_ref: np.ndarray,
         tol: float = 1e-4, accept_factor: float = 2.0, max_ops: int = 400) -> Formula:
    """The tidiest accepted stage of ``expr`` (see the module docstring)."""
    raw_err = formula_error(expr, names, coords, u_ref)
    limit = max(accept_factor * raw_err["max_abs"], 1e-12)
    best, best_err, stage = expr, raw_err, "raw"

    def accept(candidate: sympy.Expr, name: str) -> None:
        nonlocal best, best_err, stage
        err = formula_error(candidate, names, coords, u_ref)
        if err["max_abs"] <= limit:
            best, best_err, stage = candidate, err, name

    accept(sympy.expand(expr), "expanded")
    accept(snap(best, tol), "snapped")
    if sympy.count_ops(best) <= max_ops:
        try:
            accept(sympy.simplify(best), "simplified")
        except (TypeError, ValueError, RecursionError, NotImplementedError):
            pass
    return Formula(best, raw_err, best_err, stage)
