r"""Grid changes of a B-spline KAN layer, with the coefficients refit (mixed into
:class:`kanpde.models.KANLayer`).

Grids (B-spline basis only). :meth:`KANLayer.extend_grid` (``G -> G'``) and
:meth:`KANLayer.update_grid` (knots follow the samples) install new knots and refit ``c`` by
least squares, ``min_c' sum_p |sum_m c'_m B'_m(x_p) - sum_m c_m B_m(x_p)|^2`` per edge, in
float64, on dense points across the new grid range and the given samples, so the edge
functions are preserved (exactly, up to rounding, inside the range when the new spline space
contains the old one, e.g. ``G' = 2G``). Replacing ``spline_coef`` creates a new Parameter of a
new shape: optimizers must be rebuilt after a grid change.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn


class GridRefit:
    """``extend_grid`` / ``update_grid`` of a KAN layer (needs ``basis``, ``spline_order``,
    ``spline_coef`` ``(in, n, out)``, ``grid_eps``, ``basis_name`` and ``_check_input``)."""

    def _require_grid(self, what: str) -> None:
        if not self.basis.has_grid:
            raise ValueError(
                f"{what} needs a grid-based basis: basis={self.basis_name!r} has none "
                "(allowed: basis='bspline')"
            )

    @torch.no_grad()
    def extend_grid(self, new_grid_size: int, x: Tensor | None = None) -> None:
        """Refine the grid to ``new_grid_size`` intervals, refitting the coefficients.

        The knot density is kept (:meth:`BSplineBasis.refined_grid`). Fit points: a dense set
        across the grid range plus those samples of ``x`` ``(N, in)`` that lie inside it.
        """
        self._require_grid("extend_grid")
        if isinstance(new_grid_size, bool) or not isinstance(new_grid_size, int) \
                or new_grid_size < 1:
            raise ValueError(f"new_grid_size={new_grid_size!r} must be an integer >= 1")
        if x is not None:
            self._check_input(x)
        grid, uniform = self.basis.refined_grid(new_grid_size)
        lo, hi = grid[:, self.spline_order], grid[:, self.spline_order + new_grid_size]
        points = self._dense_points(lo, hi, new_grid_size)
        if x is not None:
            xs = x.detach().to(points)
            inside = ((xs >= lo) & (xs <= hi)).all(dim=1)
            points = torch.cat([points, xs[inside]], dim=0)
        self._refit(grid, uniform, points)

    @torch.no_grad()
    def update_grid(self, x: Tensor, grid_eps: float | None = None) -> None:
        """Move the knots to follow the samples ``x`` ``(N, in)``, refitting the coefficients.

        Knots: ``grid_eps * uniform + (1 - grid_eps) * quantiles`` of each feature's samples
        (:meth:`BSplineBasis.adapted_grid`); fit points: the samples plus a dense set across
        the new range.
        """
        self._require_grid("update_grid")
        self._check_input(x)
        eps = self.grid_eps if grid_eps is None else grid_eps
        grid, uniform = self.basis.adapted_grid(x, eps)
        g, k = self.basis.grid_size, self.spline_order
        points = self._dense_points(grid[:, k], grid[:, k + g], g)
        points = torch.cat([points, x.detach().to(points)], dim=0)
        self._refit(grid, uniform, points)

    def _dense_points(self, lo: Tensor, hi: Tensor, grid_size: int) -> Tensor:
        """``8 (G + k) + 1`` equally spaced points per feature over ``[lo, hi]``: ``(P, in)``."""
        n_pts = max(8 * (grid_size + self.spline_order), 64) + 1
        steps = torch.linspace(0.0, 1.0, n_pts, dtype=torch.float64, device=lo.device)
        lo, hi = lo.double(), hi.double()
        return lo[None, :] + (hi - lo)[None, :] * steps[:, None]

    def _refit(self, grid: Tensor, uniform: bool, points: Tensor) -> None:
        """Install ``grid``; least-squares refit of ``spline_coef`` on ``points`` ``(P, in)``."""
        basis64 = copy.deepcopy(self.basis).double()
        points = points.to(device=basis64.grid.device, dtype=torch.float64)
        coef = self.spline_coef.detach().double()  # (in, n, out)
        old = basis64(points)  # (P, in, n)
        target = torch.einsum("pin,ino->ipo", old, coef)  # (in, P, out)
        basis64.set_grid(grid.double(), uniform)
        design = basis64(points).permute(1, 0, 2)  # (in, P, n')
        solution = torch.linalg.lstsq(design, target).solution  # (in, n', out)
        self.basis.set_grid(grid, uniform)
        self.spline_coef = nn.Parameter(
            solution.to(dtype=self.spline_coef.dtype, device=self.spline_coef.device)
        )
