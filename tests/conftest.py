"""Fixtures shared by every test directory."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kanpde.core.jet import Jet


def _tanh_derivatives(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    f = torch.tanh(v)
    df = 1 - f**2
    return f, df, -2 * f * df


class JetTanhNet(nn.Module):
    """A small Linear + tanh network with a hand-written forward_jet (test double)."""

    def __init__(self, widths: list[int], seed: int = 0, dtype=torch.float64) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.layers = nn.ModuleList()
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            lin = nn.Linear(a, b, dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.randn(b, a, generator=g, dtype=dtype) / a**0.5)
                lin.bias.copy_(0.3 * torch.randn(b, generator=g, dtype=dtype))
            self.layers.append(lin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, lin in enumerate(self.layers):
            x = lin(x)
            if i < len(self.layers) - 1:
                x = torch.tanh(x)
        return x

    def forward_jet(self, jet: Jet) -> Jet:
        for i, lin in enumerate(self.layers):
            jet = jet.map_linear(lin.weight.T, lin.bias)
            if i < len(self.layers) - 1:
                jet = jet.apply(_tanh_derivatives)
        return jet


@pytest.fixture
def jet_net_factory():
    return JetTanhNet
