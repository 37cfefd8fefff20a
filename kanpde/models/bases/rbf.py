r"""Gaussian radial basis functions on a fixed set of centres (FastKAN style).

``B_m(x) = exp(-((x - c_m) / w)^2)`` with ``n`` centres ``c_m`` equally spaced over the grid
range ``[a, b]`` and width ``w`` (default: the centre spacing ``(b - a) / (n - 1)``).
With ``u = (x - c_m) / w``:

    dB/dx   = -2 u / w B
    d2B/dx2 = (4 u^2 - 2) / w^2 B

Centres and width are fixed buffers (they move with ``.to()`` and live in the state dict);
the basis has no grid to extend or adapt.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from kanpde.models.bases.basis import Basis
from kanpde.models.common import check_range


class RBFBasis(Basis):
    """Gaussian bumps on ``n_centers`` equally spaced centres; ``(N, in) -> (N, in, n)``."""

    name = "rbf"

    def __init__(
        self,
        in_features: int,
        n_centers: int = 8,
        grid_range: Sequence[float] = (-1.0, 1.0),
        width: float | None = None,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__(in_features)
        if isinstance(n_centers, bool) or not isinstance(n_centers, int) or n_centers < 2:
            raise ValueError(f"n_centers={n_centers!r} must be an integer >= 2")
        lo, hi = check_range(grid_range)
        if width is None:
            width = (hi - lo) / (n_centers - 1)
        if not float(width) > 0:
            raise ValueError(f"width={width!r} must be > 0")
        dtype = dtype or torch.get_default_dtype()
        centers = torch.linspace(lo, hi, n_centers, dtype=torch.float64)
        centers = centers.to(dtype=dtype, device=device)
        self.register_buffer("centers", centers)
        self.register_buffer("width", torch.tensor(float(width), dtype=dtype, device=device))

    @property
    def n_functions(self) -> int:
        return self.centers.shape[0]

    def evaluate(self, x: Tensor, order: int = 0) -> list[Tensor]:
        self.check_input(x)
        self.check_order(order)
        inv_w = 1.0 / self.width
        u = (x.unsqueeze(-1) - self.centers) * inv_w  # (N, in, n)
        b = torch.exp(-u * u)
        out = [b]
        if order >= 1:
            out.append(-2.0 * inv_w * u * b)
        if order >= 2:
            out.append((4.0 * u * u - 2.0) * (inv_w * inv_w) * b)
        return out
