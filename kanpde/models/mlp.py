"""Multilayer perceptron ``(N, widths[0]) -> (N, widths[-1])``.

``h_0 = x``, ``h_l = f(h_{l-1} W_l^T + b_l)`` for the hidden layers, a linear output layer.
Weights: Xavier (Glorot) normal, ``W ~ N(0, 2 / (fan_in + fan_out))``; biases zero; drawn from
a local generator. Activations: ``"tanh"`` (default), ``"sin"``, ``"silu"``, ``"gelu"``
(``"identity"`` is accepted too). :meth:`MLP.forward_jet` propagates value, first and
selected second input derivatives analytically (:mod:`kanpde.core.jet`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils import skip_init

from kanpde.core.jet import Jet
from kanpde.models.activations import get_activation
from kanpde.models.common import HasWidths, check_input_width, check_widths, make_generator
from kanpde.models.tape import linear_jet


class MLP(HasWidths, nn.Module):
    """Fully connected network; see the module docstring.

    Args:
        widths: ``[dim_in, hidden..., dim_out]``.
        activation: ``"tanh"``, ``"sin"``, ``"silu"``, ``"gelu"`` or ``"identity"``.
        seed: int, ``torch.Generator`` or None.
        dtype, device: of the parameters.
    """

    def __init__(
        self,
        widths: Sequence[int],
        activation: str = "tanh",
        seed: int | torch.Generator | None = None,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.widths = check_widths(widths)
        self.activation = get_activation(activation, "activation")
        gen = make_generator(seed)
        dtype = dtype or torch.get_default_dtype()
        self.layers = nn.ModuleList()
        for fan_in, fan_out in zip(self.widths[:-1], self.widths[1:], strict=True):
            layer = skip_init(nn.Linear, fan_in, fan_out, dtype=dtype,
                              device=device or torch.get_default_device())
            std = math.sqrt(2.0 / (fan_in + fan_out))
            w = torch.randn(fan_out, fan_in, generator=gen, dtype=torch.float64) * std
            with torch.no_grad():
                layer.weight.copy_(w)
                layer.bias.zero_()
            self.layers.append(layer)

    def forward(self, x: Tensor) -> Tensor:
        check_input_width(x, self.dim_in, "MLP")
        *hidden, last = self.layers
        for layer in hidden:
            x = self.activation(layer(x))
        return last(x)

    def forward_jet(self, jet: Jet) -> Jet:
        check_input_width(jet.value, self.dim_in, "MLP")
        *hidden, last = self.layers
        for layer in hidden:
            jet = linear_jet(jet, layer).apply(self.activation.with_derivatives)
        return linear_jet(jet, last)
