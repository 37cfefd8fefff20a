r"""Knot vectors and the local polynomial pieces of B-splines (:mod:`kanpde.models.bases.bspline`).

Knots: ``M = G + 2k + 1`` per input feature, ``t_k = a``, ``t_{G+k} = b``, spacing
``h = (b - a) / G`` on a fresh grid. Pieces: on knot interval ``j`` the ``k + 1`` B-splines
that can be non-zero are polynomials in ``s = (x - t_j) / (t_{j+1} - t_j)``:
``B_{j-k+r}(x) = sum_p P_j[p, r] s^p``, built by the Cox-de Boor recursion on polynomial
coefficients (float64); derivative pieces are the differentiated coefficient matrices.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from kanpde.models.common import check_range


def check_grid_args(grid_size: int, spline_order: int, grid_range: Sequence[float]) -> None:
    if isinstance(grid_size, bool) or not isinstance(grid_size, int) or grid_size < 1:
        raise ValueError(f"grid_size={grid_size!r} must be an integer >= 1")
    if isinstance(spline_order, bool) or not isinstance(spline_order, int) or spline_order < 0:
        raise ValueError(f"spline_order={spline_order!r} must be an integer >= 0")
    check_range(grid_range)


def uniform_knots_like(lo: Tensor, hi: Tensor, grid_size: int, spline_order: int) -> Tensor:
    """Uniform extended knot vectors ``(in, G + 2k + 1)`` for per-feature ranges ``lo, hi`` (in,).

    ``t_m = lo + (hi - lo) (m - k) / G``; ``t_k = lo`` and ``t_{G+k} = hi`` exactly.
    """
    g, k = grid_size, spline_order
    idx = torch.arange(-k, g + k + 1, dtype=lo.dtype, device=lo.device)
    t = lo[:, None] + (hi - lo)[:, None] * (idx / g)
    t[:, k] = lo
    t[:, k + g] = hi
    return t


def uniform_knots(
    grid_size: int,
    spline_order: int,
    grid_range: Sequence[float] = (-1.0, 1.0),
    in_features: int = 1,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Extended uniform knots ``(in_features, G + 2k + 1)``, computed in float64, then cast."""
    check_grid_args(grid_size, spline_order, grid_range)
    lo = torch.full((in_features,), float(grid_range[0]), dtype=torch.float64)
    hi = torch.full((in_features,), float(grid_range[1]), dtype=torch.float64)
    t = uniform_knots_like(lo, hi, grid_size, spline_order)
    return t.to(dtype=dtype or torch.get_default_dtype(), device=device)


def _shift_up(c: Tensor) -> Tensor:
    """Multiply a polynomial (coefficients along the last axis, by power) by ``s``."""
    return torch.cat([torch.zeros_like(c[..., :1]), c[..., :-1]], dim=-1)


def piece_matrices(knots: Tensor, spline_order: int) -> Tensor:
    """Local polynomial coefficients of the B-splines on every knot interval.

    Args:
        knots: ``(in, M)`` non-decreasing knot vectors (``n = M - k - 1`` functions).
        spline_order: ``k``.

    Returns:
        ``P`` ``(in, M - 1, k + 1, k + 1)`` float64 with ``B_{j-k+r}(x) = sum_p P[i, j, p, r] s^p``
        on interval ``j`` of feature ``i``, ``s = (x - t_j) / (t_{j+1} - t_j)``; columns of
        functions that do not exist (index outside ``0..n-1``) are zero.
    """
    k = spline_order
    t = knots.detach().to(torch.float64)
    n_in, m = t.shape
    n_int = m - 1
    n_fun = m - k - 1
    h = (t[:, -1] - t[:, 0]) / n_int
    steps = torch.arange(1, k + 1, dtype=torch.float64, device=t.device)
    left = t[:, :1] - h[:, None] * steps.flip(0)
    right = t[:, -1:] + h[:, None] * steps
    tp = torch.cat([left, t, right], dim=1)  # (in, M + 2k); tp[:, m + k] = t[:, m]
    j = torch.arange(n_int, device=t.device)

    def tk(off: int) -> Tensor:  # t_{j + off} for every interval j: (in, J)
        return tp[:, j + off + k]

    def ratio(num: Tensor, den: Tensor) -> Tensor:
        safe = torch.where(den > 0, den, torch.ones_like(den))
        return torch.where(den > 0, num / safe, torch.zeros_like(num))

    t_j = tk(0)
    delta = tk(1) - t_j
    one = torch.zeros(n_in, n_int, k + 1, dtype=torch.float64, device=t.device)
    one[..., 0] = 1.0
    polys = [one]  # degree d: B_{j-d+q, d} for q = 0..d, as polynomials in s
    for d in range(1, k + 1):
        new = []
        for q in range(d + 1):
            i_off = q - d  # the function index is i = j + i_off
            acc = torch.zeros_like(one)
            if q >= 1:  # (x - t_i) / (t_{i+d} - t_i) * B_{i, d-1}
                den = tk(i_off + d) - tk(i_off)
                alpha = ratio(t_j - tk(i_off), den)[..., None]
                beta = ratio(delta, den)[..., None]
                c = polys[q - 1]
                acc = acc + alpha * c + beta * _shift_up(c)
            if q <= d - 1:  # (t_{i+d+1} - x) / (t_{i+d+1} - t_{i+1}) * B_{i+1, d-1}
                den = tk(i_off + d + 1) - tk(i_off + 1)
                alpha = ratio(tk(i_off + d + 1) - t_j, den)[..., None]
                beta = ratio(-delta, den)[..., None]
                c = polys[q]
                acc = acc + alpha * c + beta * _shift_up(c)
            new.append(acc)
        polys = new
    pieces = torch.stack(polys, dim=-1)  # (in, J, p, r)
    func = j[:, None] - k + torch.arange(k + 1, device=t.device)
    exists = ((func >= 0) & (func < n_fun)).to(torch.float64)
    return pieces * exists[None, :, None, :]


#: highest x-derivative order :meth:`BSplineBasis.local` evaluates (the third derivative is
#: what the backward pass of the fused jet, :mod:`kanpde.models.kan.fused_jet`, needs)
MAX_LOCAL_ORDER = 3


def with_derivative_pieces(pieces: Tensor) -> Tensor:
    """``[P^(0), P^(1), P^(2), P^(3)]`` concatenated on the last axis: ``(..., k+1, 4 (k+1))``.

    ``P^{(m)}[p, r] = (p+1)...(p+m) P[p+m, r]``: coefficients of ``d^m/ds^m`` of each piece.
    """
    kp1 = pieces.shape[-2]
    p = torch.arange(kp1, dtype=pieces.dtype, device=pieces.device)
    blocks = [pieces]
    for m in range(1, MAX_LOCAL_ORDER + 1):
        dm = torch.zeros_like(pieces)
        if kp1 > m:
            factor = torch.ones_like(p[: kp1 - m])
            for step in range(1, m + 1):
                factor = factor * (p[: kp1 - m] + step)
            dm[..., : kp1 - m, :] = pieces[..., m:, :] * factor[:, None]
        blocks.append(dm)
    return torch.cat(blocks, dim=-1)


def local_powers(s: Tensor, k: int) -> Tensor:
    """``[1, s, ..., s^k]`` stacked on a new last axis (products only: twice differentiable)."""
    terms = [torch.ones_like(s)]
    for _ in range(k):
        terms.append(terms[-1] * s)
    return torch.stack(terms, dim=-1)
