"""Affine input scaling from a box ``[lo, hi]`` to ``[-1, 1]^d``, and a model wrapped in it.

``InputScaling(lo, hi)``: ``x -> 2 (x - lo) / (hi - lo) - 1`` per coordinate, ``(N, d) -> (N, d)``.
Being affine, its jet is ``value -> scaled value``, ``d1 -> s d1``, ``d2 -> s d2`` with
``s = 2 / (hi - lo)`` per output channel.

``ScaledModel(net, lo, hi)``: ``forward(x) = net(scaling(x))``; the backbone is ``.net`` and
``.scaling`` is the map. It forwards ``extend_grid`` / ``update_grid`` (scaling the samples
first) and ``forward_jet`` to ``net``. These attributes exist only when ``net`` has them
(``hasattr(scaled, "forward_jet")`` is ``hasattr(net, "forward_jet")``), and
``supports_grid_updates`` is ``net.supports_grid_updates`` (False when absent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from kanpde.core.jet import Jet


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


class WrapsNet:
    """Properties of a module that wraps a network ``self.net`` (dims, widths, KAN grid)."""

    net: nn.Module

    @property
    def widths(self) -> list[int]:
        return list(self.net.widths)

    @property
    def dim_out(self) -> int:
        return self.net.dim_out

    @property
    def supports_grid_updates(self) -> bool:
        return bool(getattr(self.net, "supports_grid_updates", False))

    @property
    def grid_size(self) -> int:
        if not hasattr(self.net, "grid_size"):
            raise AttributeError(f"{type(self.net).__name__} has no grid_size")
        return self.net.grid_size


class ScaledModel(WrapsNet, nn.Module):
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

    def forward(self, x: Tensor) -> Tensor:
        return self.net(self.scaling(x))

    def _net_method(self, name: str) -> Callable:
        if not hasattr(self.net, name):
            raise AttributeError(f"{type(self.net).__name__} has no {name}")
        return getattr(self.net, name)

    @property
    def forward_jet(self) -> Callable[[Jet], Jet]:
        """``jet -> net.forward_jet(scaling.forward_jet(jet))`` (present iff net has it)."""
        method = self._net_method("forward_jet")
        return lambda jet: method(self.scaling.forward_jet(jet))

    @property
    def extend_grid(self) -> Callable[..., None]:
        """``(new_grid_size, x=None)``: ``net.extend_grid`` with scaled ``x``."""
        method = self._net_method("extend_grid")

        def extend_grid(new_grid_size: int, x: Tensor | None = None) -> None:
            method(new_grid_size, None if x is None else self.scaling(x))

        return extend_grid

    @property
    def update_grid(self) -> Callable[..., None]:
        """``(x, **kwargs)``: ``net.update_grid`` with scaled ``x``."""
        method = self._net_method("update_grid")

        def update_grid(x: Tensor, *args, **kwargs) -> None:
            method(self.scaling(x), *args, **kwargs)

        return update_grid
