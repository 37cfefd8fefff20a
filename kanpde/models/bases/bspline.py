r"""B-spline basis of order ``k`` on a knot grid, with first and second x-derivatives.

Knots. A grid of ``G`` intervals over a range ``[a, b]`` is extended by ``k`` knots on each
side, giving ``M = G + 2k + 1`` knots ``t_0 < ... < t_{M-1}`` with ``t_k = a`` and
``t_{G+k} = b``, and ``n = G + k`` B-splines ``B_0 .. B_{n-1}`` of degree ``k`` (Cox-de Boor),
``B_b`` supported on ``[t_b, t_{b+k+1}]``. Every input feature ``i`` has its own knot vector
(``grid`` buffer ``(in, M)``); a fresh basis is uniform with spacing ``h = (b - a) / G`` on
every feature.

Convention at knots and ends (documented contract, tested against ``scipy``):
  * intervals are half-open, ``[t_j, t_{j+1})``: at an interior knot values and derivatives
    are the right limits, as in ``scipy.interpolate.BSpline``;
  * exception: a point exactly at the right end ``b`` of the grid range uses the last grid
    interval ``[t_{G+k-1}, t_{G+k}]`` (left limits), as scipy does at the end of its base
    interval; so inside ``[a, b]`` the basis equals
    ``scipy.interpolate.BSpline(t, I, k, extrapolate=True)`` exactly;
  * on the extension ``[t_0, a)`` and ``(b, t_{M-1})`` the functions are the true B-splines of
    the extended knot vector (as in the KAN paper, not scipy's polynomial extrapolation), and
    outside ``[t_0, t_{M-1})`` every function is zero.

Evaluation. On interval ``j`` with local coordinate ``s = (x - t_j) / (t_{j+1} - t_j)`` in
``[0, 1)``, the ``k + 1`` functions ``B_{j-k+r}``, ``r = 0..k``, that can be non-zero are
polynomials in ``s``: ``B_{j-k+r}(x) = sum_p P_j[p, r] s^p``. The matrices ``P_j`` are built
once per grid by running the Cox-de Boor recursion on polynomial coefficients; derivatives use
the differentiated matrices times ``(1 / (t_{j+1} - t_j))^order``. On a uniform grid every
``P_j`` is the same cardinal matrix and the interval is found by index arithmetic (with a
one-step correction against the stored knots, so points exactly at knots are placed like
scipy places them); on an adapted grid it is found with ``searchsorted`` and ``P_j`` is
gathered. The cost per input is ``O(k^2)`` and independent of ``G``; the dense ``(N, in, n)``
basis is the ``k + 1`` local values scattered into place.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from kanpde.models.bases.basis import DEFAULT_SPLINE_ORDER, Basis
from kanpde.models.bases.bspline_pieces import (
    MAX_LOCAL_ORDER,
    check_grid_args,
    local_powers,
    piece_matrices,
    uniform_knots,
    uniform_knots_like,
    with_derivative_pieces,
)

__all__ = ["MAX_LOCAL_ORDER", "BSplineBasis", "piece_matrices", "uniform_knots",
           "uniform_knots_like", "with_derivative_pieces"]


class BSplineBasis(Basis):
    """B-splines of order ``k`` on a (per-feature) extended knot grid; see the module docstring.

    Args:
        in_features: number of input features.
        grid_size: ``G`` >= 1 intervals over ``grid_range``.
        spline_order: ``k`` >= 0 (3: cubic, 5: quintic, the default).
        grid_range: ``(a, b)`` with ``a < b``.
        dtype, device: of the ``grid`` buffer (default dtype, CPU when None).

    Buffers: ``grid`` ``(in, G + 2k + 1)`` and ``grid_uniform`` (bool; True while every
    feature's knots are equally spaced, which selects the index-arithmetic fast path).
    """

    name = "bspline"
    has_grid = True

    def __init__(
        self,
        in_features: int,
        grid_size: int = 5,
        spline_order: int = DEFAULT_SPLINE_ORDER,
        grid_range: Sequence[float] = (-1.0, 1.0),
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__(in_features)
        check_grid_args(grid_size, spline_order, grid_range)
        self.spline_order = spline_order
        self.register_buffer(
            "grid",
            uniform_knots(grid_size, spline_order, grid_range, in_features, dtype=dtype,
                          device=device),
        )
        self.register_buffer("grid_uniform", torch.tensor(True, device=device))
        self._refresh()

    # ------------------------------------------------------------------ grid bookkeeping
    @property
    def grid_size(self) -> int:
        return self.grid.shape[1] - 2 * self.spline_order - 1

    @property
    def n_functions(self) -> int:
        return self.grid_size + self.spline_order

    @property
    def local_size(self) -> int:
        return self.spline_order + 1

    @property
    def uniform(self) -> bool:
        return self._uniform

    def grid_bounds(self) -> tuple[Tensor, Tensor]:
        """The grid range ``(a, b)`` of every feature, each ``(in,)``."""
        k = self.spline_order
        return self.grid[:, k], self.grid[:, k + self.grid_size]

    def set_grid(self, grid: Tensor, uniform: bool) -> None:
        """Install a new extended knot vector ``(in, G' + 2k + 1)`` (strictly increasing)."""
        k = self.spline_order
        if grid.dim() != 2 or grid.shape[0] != self.in_features or grid.shape[1] < 2 * k + 2:
            raise ValueError(
                f"grid must have shape (in={self.in_features}, G + 2k + 1) with G >= 1, "
                f"got {tuple(grid.shape)}"
            )
        if not bool((grid[:, 1:] > grid[:, :-1]).all()):
            raise ValueError("grid knots must be strictly increasing on every feature")
        self.grid = grid.to(dtype=self.grid.dtype, device=self.grid.device).contiguous()
        self.grid_uniform = torch.tensor(bool(uniform), device=self.grid.device)
        self._refresh()

    def _refresh(self) -> None:
        """Recompute the tables derived from ``grid`` (after any change of grid/dtype/device)."""
        k = self.spline_order
        t = self.grid
        n_in, m = t.shape
        n_int = m - 1
        self._uniform = bool(self.grid_uniform)
        dev, dt = t.device, t.dtype
        self._off_knots = torch.arange(n_in, device=dev) * m
        self._off_pieces = torch.arange(n_in, device=dev) * (n_int + 1)
        self._right_end = t[:, k + self.grid_size].clone()  # b per feature
        if self._uniform:
            canon = torch.arange(-k, k + 2, dtype=torch.float64, device=dev)[None, :]
            card = piece_matrices(canon, k)[0, k]  # interior interval: all functions exist
            pieces = with_derivative_pieces(card)  # (k+1, 4(k+1)) float64
            self._pieces = pieces.to(dt)
            inv_h = n_int / (t[:, -1].double() - t[:, 0].double())  # (in,)
            self._inv_h = inv_h.to(dt)
            # one spacing on every feature (the usual case): fold 1/h^q into the pieces
            self._folded = bool((inv_h == inv_h[0]).all())
            per_feature = inv_h[:, None] ** torch.arange(MAX_LOCAL_ORDER + 1, device=dev)
            self._pieces_by_feature = (  # (in, k+1, 4(k+1)): 1/h_i^q folded in per feature
                pieces * per_feature.repeat_interleave(k + 1, dim=1)[:, None, :]).to(dt)
            jj = torch.arange(n_int + 1, device=dev)[:, None] - k + torch.arange(k + 1, device=dev)
            mask = (jj >= 0) & (jj < self.n_functions)
            mask[-1] = False  # row J: points outside the knot vector
            self._colmask = mask  # (J + 1, k + 1) bool
        else:
            pieces = with_derivative_pieces(piece_matrices(t, k))  # (in, J, k+1, 4(k+1))
            pad = torch.zeros_like(pieces[:, :1])
            self._pieces = torch.cat([pieces, pad], 1).reshape(
                -1, k + 1, (MAX_LOCAL_ORDER + 1) * (k + 1)).to(dt)
            width = (t[:, 1:] - t[:, :-1]).double()
            inv = torch.where(width > 0, 1.0 / width.clamp_min(1e-300), torch.zeros_like(width))
            inv = torch.cat([inv, torch.zeros_like(inv[:, :1])], 1)
            self._inv_width = inv.reshape(-1).to(dt)  # (in * (J + 1),)

    def _apply(self, fn, *args, **kwargs):  # .to(), .double(), .cuda(): refresh derived tables
        out = super()._apply(fn, *args, **kwargs)
        self._refresh()
        return out

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = prefix + "grid"
        if key in state_dict and state_dict[key].shape != self.grid.shape:
            self.grid = torch.empty(
                state_dict[key].shape, dtype=self.grid.dtype, device=self.grid.device
            )
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._refresh()

    # ------------------------------------------------------------------ evaluation
    def _locate(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Interval index ``j`` ``(N, in)`` (clamped to ``0..J-1``) and validity mask."""
        t = self.grid
        n_int = t.shape[1] - 1
        k = self.spline_order
        if self._uniform:
            u = torch.nan_to_num((x - t[:, 0]) * self._inv_h, nan=-1.0)
            j = torch.floor(u).clamp(0, n_int - 1).long()
            flat = t.reshape(-1)
            pos = j + self._off_knots
            j = j - (x < flat[pos]).long() + (x >= flat[pos + 1]).long()
        else:
            j = torch.searchsorted(t, x.t().contiguous(), right=True).t() - 1
        j = torch.where(x == self._right_end, torch.full_like(j, k + self.grid_size - 1), j)
        valid = (j >= 0) & (j < n_int)
        return j.clamp(0, n_int - 1), valid

    def _local_values(self, x: Tensor, order: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Interval ``j``, validity, table row (``J`` where invalid) ``(N, in)`` and the local
        values ``(N, in, order + 1, k + 1)`` (not masked) of :meth:`local`."""
        k = self.spline_order
        kp1 = k + 1
        n_int = self.grid.shape[1] - 1
        j, valid = self._locate(x.detach())
        t_j = self.grid.reshape(-1)[j + self._off_knots]
        row = torch.where(valid, j, torch.full_like(j, n_int))
        width = kp1 * (order + 1)
        if self._uniform:
            inv = self._inv_h.expand_as(x)
            s = torch.where(valid, (x - t_j) * inv, torch.zeros_like(x))
            # one spacing: feature 0's pieces, with 1/h^q folded in, serve every feature
            pieces = self._pieces_by_feature[0] if self._folded else self._pieces
            out = local_powers(s, k) @ pieces[:, :width]  # (N, in, (order+1)(k+1))
        else:
            rows = row + self._off_pieces
            inv = self._inv_width[rows]
            s = torch.where(valid, (x - t_j) * inv, torch.zeros_like(x))
            pieces = self._pieces[rows][..., :width]  # (N, in, k+1, width)
            out = (local_powers(s, k).unsqueeze(-2) @ pieces).squeeze(-2)
        values = out.reshape(*x.shape, order + 1, kp1)
        if order > 0 and not (self._uniform and self._folded):
            scale = torch.stack([inv**q for q in range(order + 1)], dim=-1)
            values = values * scale.unsqueeze(-1)
        return j, valid, row, values

    def uniform_tables(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(grid (in, M), inv_h (in,), pieces (in, k+1, 4(k+1)))`` of a uniform grid: the
        knots, inverse spacings and the cardinal pieces of orders 0..3 with ``inv_h_i^q``
        folded in (what the native kernel of :meth:`local_support` evaluates).

        Raises ValueError on an adapted (non-uniform) grid.
        """
        if not self._uniform:
            raise ValueError("uniform_tables: the grid is not uniform (after update_grid)")
        return self.grid, self._inv_h, self._pieces_by_feature

    def local_support(self, x: Tensor, order: int = 3) -> tuple[Tensor, Tensor]:
        """``(start, values)`` for the fused jet (:mod:`kanpde.models.kan.fused_jet`).

        ``start`` ``(N, in)`` int64: ``j - k`` (slot ``r`` is ``B_{start + r}``, to be used only
        when ``0 <= start + r < n``); for a point outside the knot vector it is ``-(n + k + 1)``,
        so that no slot is used. ``values`` ``(N, in, order + 1, k + 1)``: the x-derivatives of
        those functions, ``order <= 3`` (entries of unused slots are arbitrary).
        """
        self.check_input(x)
        if order not in range(MAX_LOCAL_ORDER + 1):
            raise ValueError(f"order={order!r} is not one of {list(range(MAX_LOCAL_ORDER + 1))}")
        j, valid, _, values = self._local_values(x, order)
        far = torch.full_like(j, -(self.n_functions + self.spline_order + 1))
        return torch.where(valid, j - self.spline_order, far), values

    def local(self, x: Tensor, order: int = 0) -> tuple[Tensor, Tensor, Tensor | None]:
        """The ``k + 1`` functions that can be non-zero at each input, and their derivatives.

        Returns:
            ``start`` ``(N, in)`` int64: index ``j - k`` of the first of them (``B_{start+r}``,
            ``r = 0..k``; ``start + r`` may lie outside ``0..n-1`` on the grid extension);
            ``values`` ``(N, in, order + 1, k + 1)``: ``d^q B_{start + r} / dx^q``,
            ``q = 0..order``; ``mask`` ``(N, in, k + 1)`` bool or None: where False, the true
            value is zero (a function that does not exist, or an input outside the knot
            vector) and ``values`` must be ignored. None means ``values`` are already exact.
        """
        self.check_input(x)
        self.check_order(order)
        j, _, row, values = self._local_values(x, order)
        # uniform grids share one cardinal piece, so missing functions and outside points are
        # masked; on an adapted grid their pieces are zero
        mask = self._colmask[row] if self._uniform else None  # (N, in, k+1)
        return j - self.spline_order, values, mask

    def evaluate(self, x: Tensor, order: int = 0) -> list[Tensor]:
        """Dense ``[B, B', B''][: order+1]``, each ``(N, in, G + k)``."""
        start, values, mask = self.local(x, order)
        kp1 = self.spline_order + 1
        index = (start.unsqueeze(-1) + torch.arange(kp1, device=x.device))
        index = index.clamp_(0, self.n_functions - 1)
        if mask is not None:
            values = values * mask.unsqueeze(-2).to(values.dtype)
        shape = (*x.shape, self.n_functions)
        return [x.new_zeros(shape).scatter_add(-1, index, values[..., q, :])
                for q in range(order + 1)]

    # ------------------------------------------------------------------ new grids
    def refined_grid(self, new_grid_size: int) -> tuple[Tensor, bool]:
        """Knots with ``G'`` intervals and the same relative knot density, and uniformity.

        Interior knots are the piecewise-linear interpolation of the current interior knots
        at fractional index ``m G / G'`` (``m = 0..G'``): a uniform grid stays uniform and,
        when ``G'`` is a multiple of ``G``, every old knot is kept (nested spline spaces).
        The ``k`` extension knots on each side are spaced ``(b - a) / G'``.
        """
        check_grid_args(new_grid_size, self.spline_order, (0.0, 1.0))
        g, k, g2 = self.grid_size, self.spline_order, new_grid_size
        t = self.grid.detach().double()
        interior = t[:, k : k + g + 1]
        lo, hi = interior[:, 0], interior[:, -1]
        if self._uniform:
            return uniform_knots_like(lo, hi, g2, k), True
        num = torch.arange(g2 + 1, device=t.device) * g
        base = torch.div(num, g2, rounding_mode="floor").clamp(max=g - 1)
        frac = ((num - base * g2).double() / g2)[None, :]
        new = interior[:, base] * (1 - frac) + interior[:, base + 1] * frac
        return self._extend(new, (hi - lo) / g2), False

    def adapted_grid(self, x: Tensor, grid_eps: float) -> tuple[Tensor, bool]:
        """Knots following the samples ``x`` ``(N, in)`` (KAN paper's grid update).

        Interior knots ``grid_eps * uniform + (1 - grid_eps) * quantiles`` of each feature's
        samples at levels ``m / G``, ``uniform`` spanning ``[min x_i, max x_i]``; extension
        spacing ``(max - min) / G``. A feature whose samples are (numerically) constant keeps
        its knots. Raises ValueError when the knots would not be strictly increasing (repeated
        sample values with ``grid_eps = 0``).
        """
        if not 0.0 <= float(grid_eps) <= 1.0:
            raise ValueError(f"grid_eps={grid_eps!r} must lie in [0, 1]")
        self.check_input(x)
        if x.shape[0] < 2:
            raise ValueError("update_grid needs at least 2 samples")
        g = self.grid_size
        xs = x.detach().double()
        levels = torch.linspace(0.0, 1.0, g + 1, dtype=torch.float64, device=x.device)
        adaptive = torch.quantile(xs, levels, dim=0).t()  # (in, G+1)
        lo, hi = xs.min(0).values, xs.max(0).values
        steps = torch.arange(g + 1, dtype=torch.float64, device=x.device) / g
        uniform = lo[:, None] + (hi - lo)[:, None] * steps
        interior = grid_eps * uniform + (1.0 - grid_eps) * adaptive
        interior[:, 0], interior[:, -1] = lo, hi
        new = self._extend(interior, (hi - lo) / g)
        old = self.grid.detach().double().to(x.device)
        flat = (hi - lo) <= 1e-12 * (1.0 + lo.abs() + hi.abs())
        new = torch.where(flat[:, None], old, new)
        if not bool((new[:, 1:] > new[:, :-1]).all()):
            raise ValueError(
                "update_grid: the sample quantiles repeat, so the knots would not be strictly "
                f"increasing; use grid_eps > 0 (got grid_eps={grid_eps})"
            )
        is_uniform = float(grid_eps) == 1.0 and (self._uniform or not bool(flat.any()))
        return new, is_uniform

    def _extend(self, interior: Tensor, h: Tensor) -> Tensor:
        k = self.spline_order
        steps = torch.arange(1, k + 1, dtype=interior.dtype, device=interior.device)
        left = interior[:, :1] - h[:, None] * steps.flip(0)
        right = interior[:, -1:] + h[:, None] * steps
        return torch.cat([left, interior, right], dim=1)
