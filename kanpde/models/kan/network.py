"""Kolmogorov-Arnold Network: a stack of :class:`~kanpde.models.kan.layer.KANLayer`.

``KAN(widths=[d_0, d_1, ..., d_L])`` composes ``L`` layers ``d_{l-1} -> d_l``:
``(N, d_0) -> (N, d_L)``. Every layer shares the basis settings (``grid_size``,
``spline_order``, ``basis``, ``grid_range``, ``base_activation``) and draws its initial
parameters from one local generator seeded by ``seed``.

Grid operations (B-spline basis only, ``supports_grid_updates``):
  * ``extend_grid(G', x=None)``: every layer goes to ``G'`` intervals, refitting its
    coefficients (on dense points across its grid range; with ``x`` ``(N, d_0)`` also on the
    layer's own inputs, obtained by propagating ``x`` through the network before the change).
  * ``update_grid(x)``: ``x`` is propagated layer by layer; each layer moves its knots to the
    quantiles of its own inputs and refits, then the (updated) layer's output feeds the next.
After a grid operation the coefficient Parameters are new objects: rebuild the optimizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from kanpde.core.jet import Jet
from kanpde.models.bases.basis import DEFAULT_SPLINE_ORDER
from kanpde.models.bases.factory import check_basis_name, check_basis_options
from kanpde.models.common import HasWidths, check_widths, make_generator
from kanpde.models.kan.layer import KANLayer


class KAN(HasWidths, nn.Module):
    """A KAN ``(N, widths[0]) -> (N, widths[-1])``; see the module docstring.

    Args:
        widths: ``[dim_in, hidden..., dim_out]``.
        grid_size: ``G`` >= 1 (B-spline intervals; sets the size of the other bases too).
        spline_order: ``k`` >= 0.
        basis: ``"bspline"``, ``"chebyshev"`` or ``"rbf"``.
        grid_range: ``(a, b)``, initial grid range of every layer.
        base_activation: ``"silu"`` (default), ``"tanh"``, ``"gelu"``, ``"sin"``, ``"identity"``.
        seed: int, ``torch.Generator`` or None.
        noise_scale, grid_eps, contraction, dtype, device: see :class:`KANLayer`.
        **basis_options: ``degree`` (chebyshev), ``n_centers``, ``width`` (rbf).
    """

    def __init__(
        self,
        widths: Sequence[int],
        grid_size: int = 5,
        spline_order: int = DEFAULT_SPLINE_ORDER,
        basis: str = "bspline",
        grid_range: Sequence[float] = (-1.0, 1.0),
        base_activation: str = "silu",
        seed: int | torch.Generator | None = None,
        noise_scale: float = 0.5,
        grid_eps: float = 0.02,
        contraction: str = "auto",
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        **basis_options: Any,
    ) -> None:
        super().__init__()
        self.widths = check_widths(widths)
        check_basis_name(basis)
        check_basis_options(basis, basis_options)
        gen = make_generator(seed)
        self.layers = nn.ModuleList(
            KANLayer(
                a, b, grid_size, spline_order, basis, grid_range, base_activation, noise_scale,
                grid_eps, contraction, gen, dtype=dtype, device=device, **basis_options,
            )
            for a, b in zip(self.widths[:-1], self.widths[1:], strict=True)
        )
        self.basis = basis
        self.spline_order = spline_order

    @property
    def grid_size(self) -> int:
        """Current number of grid intervals ``G`` (the same on every layer)."""
        return self.layers[0].grid_size

    @property
    def supports_grid_updates(self) -> bool:
        """True when :meth:`extend_grid` / :meth:`update_grid` apply (B-spline basis)."""
        return self.layers[0].supports_grid_updates

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 2 or x.shape[1] != self.dim_in:
            raise ValueError(
                f"KAN expects input of shape (N, {self.dim_in}) (widths[0]={self.dim_in}), "
                f"got {tuple(x.shape)}"
            )

    def forward(self, x: Tensor) -> Tensor:
        """``(N, dim_in) -> (N, dim_out)``.

        When ``x`` does not require grad (no input derivatives can be asked of the result)
        and every layer runs the native fused pass, the layers use it
        (:meth:`KANLayer.forward_fused`: same values, a graph once differentiable in the
        parameters); otherwise the twice-differentiable PyTorch forward (what nested
        autograd needs).
        """
        self._check_input(x)
        fused = not x.requires_grad and all(
            layer.contraction_mode() == "fused" for layer in self.layers)
        for layer in self.layers:
            x = layer.forward_fused(x) if fused else layer(x)
        return x

    def forward_jet(self, jet: Jet) -> Jet:
        """Value and input derivatives of the output (analytic, see :class:`KANLayer`)."""
        self._check_input(jet.value)
        for layer in self.layers:
            jet = layer.forward_jet(jet)
        return jet

    @torch.no_grad()
    def extend_grid(self, new_grid_size: int, x: Tensor | None = None) -> None:
        """Every layer to ``new_grid_size`` intervals, preserving the function (see class doc)."""
        if not self.supports_grid_updates:
            self.layers[0].extend_grid(new_grid_size, None)  # raises the explanatory error
        if x is None:
            for layer in self.layers:
                layer.extend_grid(new_grid_size)
            return
        self._check_input(x)
        h = x
        for layer in self.layers:
            h_next = layer(h)
            layer.extend_grid(new_grid_size, h)
            h = h_next

    @torch.no_grad()
    def update_grid(self, x: Tensor, grid_eps: float | None = None) -> None:
        """Adapt every layer's knots to its own inputs from ``x`` ``(N, dim_in)``."""
        self._check_input(x)
        h = x
        for layer in self.layers:
            layer.update_grid(h, grid_eps)
            h = layer(h)
