"""MLP on random Fourier features (Tancik et al. 2020; Wang, Wang & Perdikaris 2021).

``gamma(x) = [cos(2 pi x B), sin(2 pi x B)]`` ``(N, 2 m)`` with a fixed random matrix
``B`` ``(dim_in, m)``, ``B ~ N(0, sigma^2)`` (a buffer: it moves with ``.to()`` and is saved in
the state dict, but it is not trained), followed by an :class:`~kanpde.models.mlp.MLP` with
widths ``[2 m, widths[1:]...]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from kanpde.core.jet import Jet
from kanpde.models.activations import get_activation
from kanpde.models.common import HasWidths, check_input_width, check_widths, make_generator
from kanpde.models.mlp import MLP

_SIN = get_activation("sin")


def _cos_d(z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    c = torch.cos(z)
    return c, -torch.sin(z), -c


class FourierMLP(HasWidths, nn.Module):
    """Random-Fourier-feature MLP; see the module docstring.

    Args:
        widths: ``[dim_in, hidden..., dim_out]`` (the MLP's input width is ``2 n_features``).
        n_features: ``m`` >= 1.
        sigma: standard deviation of ``B`` (> 0).
        activation: of the MLP (``"tanh"``, ``"sin"``, ``"silu"``, ``"gelu"``).
        seed: int, ``torch.Generator`` or None (draws ``B`` and then the MLP weights).
        dtype, device: of parameters and ``B``.
    """

    def __init__(
        self,
        widths: Sequence[int],
        n_features: int = 64,
        sigma: float = 1.0,
        activation: str = "tanh",
        seed: int | torch.Generator | None = None,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.widths = check_widths(widths)
        if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
            raise ValueError(f"n_features={n_features!r} must be an integer >= 1")
        if not float(sigma) > 0:
            raise ValueError(f"sigma={sigma!r} must be > 0")
        get_activation(activation, "activation")
        self.n_features = n_features
        self.sigma = float(sigma)
        gen = make_generator(seed)
        dtype = dtype or torch.get_default_dtype()
        b = torch.randn(self.widths[0], n_features, generator=gen, dtype=torch.float64) * sigma
        self.register_buffer("B", b.to(dtype=dtype, device=device))
        self.mlp = MLP([2 * n_features, *self.widths[1:]], activation, gen, dtype=dtype,
                       device=device)

    def features(self, x: Tensor) -> Tensor:
        """``[cos(2 pi x B), sin(2 pi x B)]`` ``(N, 2 m)``."""
        z = x @ (2.0 * math.pi * self.B)
        return torch.cat([torch.cos(z), torch.sin(z)], dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        check_input_width(x, self.dim_in, "FourierMLP")
        return self.mlp(self.features(x))

    def forward_jet(self, jet: Jet) -> Jet:
        check_input_width(jet.value, self.dim_in, "FourierMLP")
        z = jet.map_linear(2.0 * math.pi * self.B)
        feats = Jet.cat([z.apply(_cos_d), z.apply(_SIN.with_derivatives)])
        return self.mlp.forward_jet(feats)
