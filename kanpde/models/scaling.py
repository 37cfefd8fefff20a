"""Affine input scaling from a box ``[lo, hi]`` to ``[-1, 1]^d``, and a model wrapped in it.

``InputScaling(lo, hi)``: ``x -> 2 (x - lo) / (hi - lo) - 1`` per coordinate, ``(N, d) -> (N, d)``.
Being affine, its jet is ``value -> scaled value``, ``d1 -> s d1``, ``d2 -> s d2`` with
``s = 2 / (hi - lo)`` per output channel.

``ScaledModel(net, lo, hi)``: ``forward(x) = net(scaling(x))``, an
:class:`~kanpde.models.wrapper.InputMapped` whose map is ``.scaling`` (the grid methods and
``forward_jet`` forwarded to ``net`` through it).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from kanpde.core.jet import Jet
from kanpde.models.wrapper import InputMapped


def _as_vector(v: Sequence[float] | Tensor, name: str) -> Tensor:
    t = torch.as_tensor(v, dtype=torch.float64).reshape(-1).clone()
    if t.numel() < 1 or not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name}={v!r} must be a non-empty sequence of finite numbers")
    return t


class InputScaling(nn.Module):
    """``x -> 2 (x - lo) / (hi - lo) - 1`` on ``(N, d)``; ``lo``, ``hi`` buffers ``(d,)``."""

    def __init__(
        self,
        lo: Sequence[float] | Tensor,
        hi: Sequence[float] | Tensor,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        lo_t, hi_t = _as_vector(lo, "lo"), _as_vector(hi, "hi")
        if lo_t.shape != hi_t.shape:
            raise ValueError(f"lo={lo!r} and hi={hi!r} must have the same length")
        if not bool((hi_t > lo_t).all()):
            raise ValueError(f"every hi must exceed lo, got lo={lo!r}, hi={hi!r}")
        dtype = dtype or torch.get_default_dtype()
        self.register_buffer("lo", lo_t.to(dtype=dtype, device=device))
        self.register_buffer("hi", hi_t.to(dtype=dtype, device=device))

    @property
    def dim(self) -> int:
        return self.lo.shape[0]

    def _check(self, x: Tensor) -> None:
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(
                f"InputScaling expects input of shape (N, {self.dim}), got {tuple(x.shape)}"
            )

    def slope(self) -> Tensor:
        """``2 / (hi - lo)`` ``(d,)``."""
        return 2.0 / (self.hi - self.lo)

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return (x - self.lo) * self.slope() - 1.0

    def forward_jet(self, jet: Jet) -> Jet:
        self._check(jet.value)
        s = self.slope()
        return Jet((jet.value - self.lo) * s - 1.0, *jet.scale_channels(s), jet.pairs)


class ScaledModel(InputMapped):
    """``net`` applied to inputs scaled from ``[lo, hi]`` to ``[-1, 1]``; see module docstring."""

    def __init__(
        self,
        net: nn.Module,
        lo: Sequence[float] | Tensor,
        hi: Sequence[float] | Tensor,
    ) -> None:
        super().__init__()
        ref = next(iter(net.parameters()), None)
        self.scaling = InputScaling(
            lo, hi,
            dtype=ref.dtype if ref is not None else None,
            device=ref.device if ref is not None else None,
        )
        dim_in = getattr(net, "dim_in", None)
        if dim_in is not None and dim_in != self.scaling.dim:
            raise ValueError(
                f"lo/hi have {self.scaling.dim} coordinates but net.dim_in={dim_in}"
            )
        self.net = net

    @property
    def dim_in(self) -> int:
        return self.scaling.dim

    def input_map(self) -> InputScaling:
        return self.scaling
