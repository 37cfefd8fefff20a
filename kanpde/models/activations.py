"""Pointwise activation functions with their first two derivatives.

Each activation ``f`` is available as a plain function (for the forward pass, built on the
fused torch kernels) and as ``with_derivatives(x) -> (f(x), f'(x), f''(x))`` (for derivative
jets, :mod:`kanpde.core.jet`). Shapes are preserved elementwise.

    tanh:      f = tanh x,           f' = 1 - f^2,                f'' = -2 f f'
    sin:       f = sin x,            f' = cos x,                  f'' = -sin x
    silu:      f = x s, s = sigmoid x,
               f' = s (1 + x (1 - s)),  f'' = s (1 - s) (2 + x (1 - 2 s))
    gelu:      f = x Phi(x) (exact, erf form), f' = Phi + x phi,  f'' = phi (2 - x^2)
    identity:  f = x,                f' = 1,                      f'' = 0

and ``third(x) = f^(3)(x)`` (the backward pass of the fused KAN jet needs it):

    tanh: -2 f' (1 - 3 f^2);   sin: -cos x;   identity: 0;
    silu: s (1 - s) (x (1 - 6 s + 6 s^2) + 3 (1 - 2 s));   gelu: x phi (x^2 - 4)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

Triple = tuple[Tensor, Tensor, Tensor]


def _tanh_d(x: Tensor) -> Triple:
    f = torch.tanh(x)
    df = 1.0 - f * f
    return f, df, -2.0 * f * df


def _sin_d(x: Tensor) -> Triple:
    s = torch.sin(x)
    return s, torch.cos(x), -s


def _silu_d(x: Tensor) -> Triple:
    s = torch.sigmoid(x)
    one_minus = 1.0 - s
    f = x * s
    df = s * (1.0 + x * one_minus)
    ddf = s * one_minus * (2.0 + x * (one_minus - s))
    return f, df, ddf


_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu_d(x: Tensor) -> Triple:
    cdf = 0.5 * (1.0 + torch.erf(x * _INV_SQRT2))
    pdf = torch.exp(-0.5 * x * x) * _INV_SQRT2PI
    return x * cdf, cdf + x * pdf, pdf * (2.0 - x * x)


def _tanh_3(x: Tensor) -> Tensor:
    f = torch.tanh(x)
    return -2.0 * (1.0 - f * f) * (1.0 - 3.0 * f * f)


def _sin_3(x: Tensor) -> Tensor:
    return -torch.cos(x)


def _silu_3(x: Tensor) -> Tensor:
    s = torch.sigmoid(x)
    return s * (1.0 - s) * (x * (1.0 - 6.0 * s * (1.0 - s)) + 3.0 * (1.0 - 2.0 * s))


def _gelu_3(x: Tensor) -> Tensor:
    pdf = torch.exp(-0.5 * x * x) * _INV_SQRT2PI
    return x * pdf * (x * x - 4.0)


def _identity_d(x: Tensor) -> Triple:
    return x, torch.ones_like(x), torch.zeros_like(x)


def _identity(x: Tensor) -> Tensor:
    return x


@dataclass(frozen=True)
class Activation:
    """A named pointwise function with analytic first, second and third derivatives."""

    name: str
    fn: Callable[[Tensor], Tensor]
    with_derivatives: Callable[[Tensor], Triple]
    third: Callable[[Tensor], Tensor]

    def __call__(self, x: Tensor) -> Tensor:
        return self.fn(x)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", torch.tanh, _tanh_d, _tanh_3),
    "sin": Activation("sin", torch.sin, _sin_d, _sin_3),
    "silu": Activation("silu", F.silu, _silu_d, _silu_3),
    "gelu": Activation("gelu", F.gelu, _gelu_d, _gelu_3),
    "identity": Activation("identity", _identity, _identity_d, torch.zeros_like),
}


def get_activation(name: str, argument: str = "activation") -> Activation:
    """The activation called ``name``; ValueError naming ``argument`` and the allowed names."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"{argument}={name!r} is not one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]
