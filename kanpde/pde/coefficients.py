r"""Learnable PDE coefficients (inverse problems).

A problem declares which of its scalar coefficients may be learned (``Problem.learnable``,
names of float attributes such as ``diffusion``); :meth:`kanpde.pde.Problem.learn` makes some
of them trainable, from initial guesses. Each learned coefficient is positive and trained in
log space,

    c = exp(theta_c),        theta_c in R,

so every optimizer (Adam, L-BFGS, Gauss-Newton) works on an unconstrained parameter. The
problem's residual then uses ``problem.coef(name)``: the learned value (a 0-dim tensor that
carries the gradient) where learned, the fixed value otherwise. The true (constructor) values
stay on the problem: the forcing terms and the reference solution are computed from them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn


class Coefficients(nn.Module):
    """Positive scalar coefficients ``c = exp(theta)`` as parameters.

    Args:
        initial: ``{name: initial value}``, every value finite and > 0.

    ``coefficients[name]`` is the value as a 0-dim tensor (in the module's dtype and device);
    :meth:`values` gives them as floats.
    """

    def __init__(self, initial: Mapping[str, float]) -> None:
        super().__init__()
        if not initial:
            raise ValueError("Coefficients needs at least one coefficient")
        self.log = nn.ParameterDict()
        self.initial: dict[str, float] = {}  # the initial guesses
        for name, value in initial.items():
            v = float(value)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(
                    f"the initial value of coefficient {name!r} must be finite and > 0 (it is "
                    f"learned as log c), got {value!r}"
                )
            self.log[name] = nn.Parameter(torch.tensor(math.log(v), dtype=torch.float64))
            self.initial[name] = v

    @property
    def names(self) -> list[str]:
        return list(self.log.keys())

    def __getitem__(self, name: str) -> Tensor:
        return torch.exp(self.log[name])

    def values(self) -> dict[str, float]:
        """``{name: float value}``."""
        return {k: float(torch.exp(p.detach())) for k, p in self.log.items()}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v:.6g}" for k, v in self.values().items())
