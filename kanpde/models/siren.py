"""SIREN: sine-activated MLP with Sitzmann et al.'s initialisation (NeurIPS 2020).

``h_1 = sin(omega_0 (x W_1^T + b_1))``, ``h_l = sin(omega_h (h_{l-1} W_l^T + b_l))``, linear
output layer. Initialisation (local generator):
  * first layer ``W ~ U(-1/fan_in, 1/fan_in)``;
  * later layers ``W ~ U(-sqrt(6/fan_in)/omega_h, sqrt(6/fan_in)/omega_h)`` (output layer too);
  * biases ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (the reference implementation's default).
``omega_h`` (``hidden_omega_0``) defaults to ``omega_0``.
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

_SIN = get_activation("sin")


class SIREN(HasWidths, nn.Module):
    """Sine network; see the module docstring.

    Args:
        widths: ``[dim_in, hidden..., dim_out]``.
        omega_0: frequency of the first layer (> 0).
        seed: int, ``torch.Generator`` or None.
        hidden_omega_0: frequency of the later hidden layers (> 0; default ``omega_0``).
        dtype, device: of the parameters.
    """

    def __init__(
        self,
        widths: Sequence[int],
        omega_0: float = 30.0,
        seed: int | torch.Generator | None = None,
        hidden_omega_0: float | None = None,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.widths = check_widths(widths)
        if not float(omega_0) > 0:
            raise ValueError(f"omega_0={omega_0!r} must be > 0")
        hidden_omega_0 = omega_0 if hidden_omega_0 is None else hidden_omega_0
        if not float(hidden_omega_0) > 0:
            raise ValueError(f"hidden_omega_0={hidden_omega_0!r} must be > 0")
        self.omega_0 = float(omega_0)
        self.hidden_omega_0 = float(hidden_omega_0)
        gen = make_generator(seed)
        dtype = dtype or torch.get_default_dtype()
        self.layers = nn.ModuleList()
        for idx, (fan_in, fan_out) in enumerate(
            zip(self.widths[:-1], self.widths[1:], strict=True)
        ):
            layer = skip_init(nn.Linear, fan_in, fan_out, dtype=dtype,
                              device=device or torch.get_default_device())
            if idx == 0:
                bound = 1.0 / fan_in
            else:
                bound = math.sqrt(6.0 / fan_in) / self.hidden_omega_0
            w = (torch.rand(fan_out, fan_in, generator=gen, dtype=torch.float64) * 2 - 1) * bound
            b_bound = 1.0 / math.sqrt(fan_in)
            b = (torch.rand(fan_out, generator=gen, dtype=torch.float64) * 2 - 1) * b_bound
            with torch.no_grad():
                layer.weight.copy_(w)
                layer.bias.copy_(b)
            self.layers.append(layer)

    def _omegas(self) -> list[float]:
        n_hidden = len(self.layers) - 1
        return [self.omega_0] + [self.hidden_omega_0] * (n_hidden - 1)

    def forward(self, x: Tensor) -> Tensor:
        check_input_width(x, self.dim_in, "SIREN")
        *hidden, last = self.layers
        for layer, omega in zip(hidden, self._omegas(), strict=False):
            x = torch.sin(omega * layer(x))
        return last(x)

    def forward_jet(self, jet: Jet) -> Jet:
        check_input_width(jet.value, self.dim_in, "SIREN")
        *hidden, last = self.layers
        for layer, omega in zip(hidden, self._omegas(), strict=False):
            jet = linear_jet(jet, layer, omega).apply(_SIN.with_derivatives)
        return linear_jet(jet, last)
