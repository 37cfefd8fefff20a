"""Input embeddings in front of any backbone: exact periodicity and random Fourier features.

Both act on the scaled inputs ``s in [-1, 1]^d`` (see :class:`~kanpde.models.ScaledModel`),
so a coordinate of physical period ``hi - lo`` has period 2 here.

PeriodicEmbedding(dim_in, axes): ``s -> [s_j (j not periodic), cos(pi s_a), sin(pi s_a)
(a periodic)]`` ``(N, d + len(axes))``; any function of it is exactly 2-periodic in each
``s_a``, with all derivatives (so ``u`` and ``u_x`` match at the two ends to rounding).

FourierEmbedding(dim_in, n_features, sigma): ``s -> [s, cos(2 pi s B), sin(2 pi s B)]``
``(N, d + 2 m)`` with a fixed ``B ~ N(0, sigma^2)`` ``(d, m)`` buffer (``include_input``
keeps ``s``).

Embedded(embedding, net): ``net(embedding(s))`` with ``net.dim_in == embedding.dim_out``, an
:class:`~kanpde.models.wrapper.InputMapped` whose map is the embedding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from kanpde.core.jet import Jet
from kanpde.models.common import make_generator
from kanpde.models.wrapper import InputMapped


def _cat(jets: Sequence[Jet]) -> Jet:
    """Jets side by side along the feature axis."""
    return Jet(
        torch.cat([j.value for j in jets], dim=1),
        torch.cat([j.d1 for j in jets], dim=2),
        torch.cat([j.d2 for j in jets], dim=2),
        jets[0].pairs,
    )


def _columns(jet: Jet, cols: Sequence[int]) -> Jet:
    idx = list(cols)
    return Jet(jet.value[:, idx], jet.d1[:, :, idx], jet.d2[:, :, idx], jet.pairs)


def _cos_sin_jets(z: Jet) -> tuple[Jet, Jet]:
    """Jets of ``cos(z)`` and ``sin(z)``."""
    c, s = torch.cos(z.value), torch.sin(z.value)
    return z.map_pointwise(c, -s, -c), z.map_pointwise(s, c, -s)


class PeriodicEmbedding(nn.Module):
    """Exact periodic embedding of the coordinates ``axes`` (period 2 in scaled units)."""

    def __init__(self, dim_in: int, axes: Sequence[int]) -> None:
        super().__init__()
        axes = sorted({int(a) for a in axes})
        if isinstance(dim_in, bool) or not isinstance(dim_in, int) or dim_in < 1:
            raise ValueError(f"dim_in={dim_in!r} must be an integer >= 1")
        if not axes or axes[0] < 0 or axes[-1] >= dim_in:
            raise ValueError(f"axes={list(axes)} must be a non-empty subset of 0..{dim_in - 1}")
        self.dim_in = dim_in
        self.axes = axes
        self.keep = [j for j in range(dim_in) if j not in axes]

    @property
    def dim_out(self) -> int:
        return self.dim_in + len(self.axes)

    def forward(self, s: Tensor) -> Tensor:
        z = math.pi * s[:, self.axes]
        return torch.cat([s[:, self.keep], torch.cos(z), torch.sin(z)], dim=1)

    def forward_jet(self, jet: Jet) -> Jet:
        cos, sin = _cos_sin_jets(_columns(jet, self.axes).scale(math.pi))
        return _cat([_columns(jet, self.keep), cos, sin]) if self.keep else _cat([cos, sin])

    def extra_repr(self) -> str:
        return f"dim_in={self.dim_in}, axes={self.axes}"


class FourierEmbedding(nn.Module):
    """Random Fourier features ``[s, cos(2 pi s B), sin(2 pi s B)]`` (without ``s`` when
    ``include_input`` is False); ``B ~ N(0, sigma^2)`` ``(dim_in, n_features)`` drawn in
    float64 from ``seed``, stored as ``2 pi B`` in ``dtype`` (default: torch's default)."""

    def __init__(
        self,
        dim_in: int,
        n_features: int = 32,
        sigma: float = 1.0,
        include_input: bool = True,
        seed: int | torch.Generator | None = None,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
            raise ValueError(f"n_features={n_features!r} must be an integer >= 1")
        if not float(sigma) > 0:
            raise ValueError(f"sigma={sigma!r} must be > 0")
        self.dim_in = int(dim_in)
        self.include_input = bool(include_input)
        gen = make_generator(seed)
        b = torch.randn(self.dim_in, n_features, generator=gen, dtype=torch.float64) * sigma
        self.register_buffer("B", (2.0 * math.pi * b).to(
            dtype=dtype or torch.get_default_dtype(), device=device))

    @property
    def dim_out(self) -> int:
        return self.dim_in * self.include_input + 2 * self.B.shape[1]

    def forward(self, s: Tensor) -> Tensor:
        z = s @ self.B
        parts = [s] if self.include_input else []
        return torch.cat([*parts, torch.cos(z), torch.sin(z)], dim=1)

    def forward_jet(self, jet: Jet) -> Jet:
        cos, sin = _cos_sin_jets(jet.map_linear(self.B))
        return _cat([jet, cos, sin]) if self.include_input else _cat([cos, sin])


class Embedded(InputMapped):
    """``net(embedding(s))``; the grid methods of a KAN ``net`` see embedded samples."""

    def __init__(self, embedding: nn.Module, net: nn.Module) -> None:
        super().__init__()
        dim = getattr(net, "dim_in", None)
        if dim is not None and dim != embedding.dim_out:
            raise ValueError(
                f"net.dim_in={dim} must equal the embedding's output width {embedding.dim_out}"
            )
        self.embedding = embedding
        self.net = net

    @property
    def dim_in(self) -> int:
        return self.embedding.dim_in

    def input_map(self) -> nn.Module:
        return self.embedding
