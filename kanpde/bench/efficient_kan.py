"""Reference "efficient-kan formulation" of a KAN layer, for benchmarks only.

The widely used formulation (efficient-kan): every B-spline on the full knot vector is
computed by the Cox-de Boor recursion for all ``G + 2k`` intervals at once,

    B^0_m(x) = [t_m <= x < t_{m+1}],
    B^d_m(x) = (x - t_m) / (t_{m+d} - t_m) B^{d-1}_m + (t_{m+d+1} - x) / (t_{m+d+1} - t_{m+1})
               B^{d-1}_{m+1},

giving ``(N, in, G + k)`` dense bases that are contracted with the coefficients in one matmul,
plus ``silu(x) @ W_base``. Derivatives come from autograd only. Written here from the formula
so that our layer can be timed against it in the same run.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class EfficientKANLayer(nn.Module):
    def __init__(self, in_features: int, out_features: int, grid_size: int = 5,
                 spline_order: int = 3, grid_range: tuple[float, float] = (-1.0, 1.0),
                 seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.k = spline_order
        h = (grid_range[1] - grid_range[0]) / grid_size
        knots = torch.arange(-spline_order, grid_size + spline_order + 1) * h + grid_range[0]
        self.register_buffer("grid", knots.expand(in_features, -1).contiguous())
        bound = 1.0 / math.sqrt(in_features)
        self.base_weight = nn.Parameter(
            (torch.rand(out_features, in_features, generator=gen) * 2 - 1) * bound)
        self.spline_weight = nn.Parameter(
            (torch.rand(out_features, in_features, grid_size + spline_order, generator=gen)
             - 0.5) * 0.1 / grid_size)
        self.spline_scaler = nn.Parameter(torch.full((out_features, in_features), bound))

    def b_splines(self, x: Tensor) -> Tensor:
        g = self.grid
        x = x.unsqueeze(-1)
        bases = ((x >= g[:, :-1]) & (x < g[:, 1:])).to(x.dtype)
        for d in range(1, self.k + 1):
            left = (x - g[:, : -(d + 1)]) / (g[:, d:-1] - g[:, : -(d + 1)])
            right = (g[:, d + 1 :] - x) / (g[:, d + 1 :] - g[:, 1:(-d)])
            bases = left * bases[:, :, :-1] + right * bases[:, :, 1:]
        return bases

    def forward(self, x: Tensor) -> Tensor:
        w = (self.spline_weight * self.spline_scaler.unsqueeze(-1)).reshape(
            self.spline_weight.shape[0], -1)
        return F.linear(F.silu(x), self.base_weight) + F.linear(
            self.b_splines(x).reshape(x.shape[0], -1), w)


class EfficientKAN(nn.Module):
    """Stack of :class:`EfficientKANLayer` for ``widths``."""

    def __init__(self, widths: list[int], grid_size: int = 5, spline_order: int = 3,
                 seed: int = 0) -> None:
        super().__init__()
        self.widths = list(widths)
        self.layers = nn.ModuleList(
            EfficientKANLayer(a, b, grid_size, spline_order, seed=seed + i)
            for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True))
        )

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x
