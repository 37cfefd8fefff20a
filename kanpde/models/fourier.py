"""MLP on random Fourier features (Tancik et al. 2020; Wang, Wang & Perdikaris 2021).

``FourierMLP = MLP o FourierEmbedding``: the features ``gamma(x) = [cos(2 pi x B),
sin(2 pi x B)]`` ``(N, 2 m)`` of :class:`~kanpde.models.embedding.FourierEmbedding` (without
the input itself) with a fixed random matrix ``B`` ``(dim_in, m)``, ``B ~ N(0, sigma^2)`` (a
buffer of the embedding: it moves with ``.to()`` and is saved in the state dict, but it is
not trained), followed by an :class:`~kanpde.models.mlp.MLP` with widths
``[2 m, widths[1:]...]``. The features are computed in one place, the embedding; this class
only names the pair a model family (its parameter count, its config, its row in a study).

State dict: ``embedding.B`` (stored as ``2 pi B``) and ``net.*``; a state dict of the
earlier layout (``B``, ``mlp.*``) loads into it unchanged in value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from kanpde.core.jet import Jet
from kanpde.models.activations import get_activation
from kanpde.models.common import HasWidths, check_input_width, check_widths, make_generator
from kanpde.models.embedding import FourierEmbedding
from kanpde.models.mlp import MLP


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
        get_activation(activation, "activation")
        gen = make_generator(seed)
        self.embedding = FourierEmbedding(self.widths[0], n_features, sigma,
                                          include_input=False, seed=gen, dtype=dtype,
                                          device=device)
        self.n_features = n_features
        self.sigma = float(sigma)
        self.net = MLP([2 * n_features, *self.widths[1:]], activation, gen, dtype=dtype,
                       device=device)

    @property
    def B(self) -> Tensor:  # noqa: N802 (the matrix's name in the literature)
        """``B`` ``(dim_in, m)`` (the embedding stores ``2 pi B``)."""
        return self.embedding.B / (2.0 * math.pi)

    def features(self, x: Tensor) -> Tensor:
        """``[cos(2 pi x B), sin(2 pi x B)]`` ``(N, 2 m)``."""
        return self.embedding(x)

    def forward(self, x: Tensor) -> Tensor:
        check_input_width(x, self.dim_in, "FourierMLP")
        return self.net(self.embedding(x))

    def forward_jet(self, jet: Jet) -> Jet:
        check_input_width(jet.value, self.dim_in, "FourierMLP")
        return self.net.forward_jet(self.embedding.forward_jet(jet))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        old = prefix + "B"
        if old in state_dict and prefix + "embedding.B" not in state_dict:
            state_dict[prefix + "embedding.B"] = 2.0 * math.pi * state_dict.pop(old)
            for key in [k for k in state_dict if k.startswith(prefix + "mlp.")]:
                state_dict[prefix + "net." + key[len(prefix) + 4:]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
