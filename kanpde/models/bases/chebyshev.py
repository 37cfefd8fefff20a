r"""Chebyshev polynomial basis of an input squashed by ``tanh`` (ChebyKAN style).

With ``z = tanh(x)`` in ``(-1, 1)``, the basis is ``T_0(z) .. T_D(z)`` (``n = D + 1``
functions), evaluated by the three-term recurrences

    T_0 = 1,  T_1 = z,          T_{m+1} = 2 z T_m - T_{m-1}
    T'_0 = 0, T'_1 = 1,         T'_{m+1} = 2 T_m + 2 z T'_m - T'_{m-1}
    T''_0 = T''_1 = 0,          T''_{m+1} = 4 T'_m + 2 z T''_m - T''_{m-1}

and the chain rule ``dz/dx = 1 - z^2``, ``d2z/dx2 = -2 z (1 - z^2)``:
``dB/dx = T'(z) z'``, ``d2B/dx2 = T''(z) z'^2 + T'(z) z''``. The squash keeps every value in
``[-1, 1]`` for any input, so there is no grid to extend or adapt.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kanpde.models.bases.basis import Basis


class ChebyshevBasis(Basis):
    """``T_0 .. T_degree`` of ``tanh(x)`` on every feature; ``(N, in) -> (N, in, degree + 1)``."""

    name = "chebyshev"

    def __init__(self, in_features: int, degree: int = 7) -> None:
        super().__init__(in_features)
        if isinstance(degree, bool) or not isinstance(degree, int) or degree < 0:
            raise ValueError(f"degree={degree!r} must be an integer >= 0")
        self.degree = degree

    @property
    def n_functions(self) -> int:
        return self.degree + 1

    def evaluate(self, x: Tensor, order: int = 0) -> list[Tensor]:
        self.check_input(x)
        self.check_order(order)
        z = torch.tanh(x)
        one = torch.ones_like(z)
        zero = torch.zeros_like(z)
        t = [one, z]
        dt = [zero, one]
        ddt = [zero, zero]
        for m in range(1, self.degree):
            t.append(2.0 * z * t[m] - t[m - 1])
            if order >= 1:
                dt.append(2.0 * t[m] + 2.0 * z * dt[m] - dt[m - 1])
            if order >= 2:
                ddt.append(4.0 * dt[m] + 2.0 * z * ddt[m] - ddt[m - 1])
        n = self.n_functions
        out = [torch.stack(t[:n], dim=-1)]
        if order >= 1:
            dz = 1.0 - z * z
            tp = torch.stack(dt[:n], dim=-1)
            out.append(tp * dz.unsqueeze(-1))
            if order >= 2:
                ddz = -2.0 * z * dz
                tpp = torch.stack(ddt[:n], dim=-1)
                out.append(tpp * (dz * dz).unsqueeze(-1) + tp * ddz.unsqueeze(-1))
        return out
