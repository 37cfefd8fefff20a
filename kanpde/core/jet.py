"""Forward derivative jets: a value together with its first and second input derivatives.

A :class:`Jet` carries, for ``N`` points and ``d`` channels, the value ``v`` of a function of
``C`` input coordinates and its derivatives

    d1[n, c, j] = d v_j / d x_c                       (N, C, d)
    d2[n, p, j] = d^2 v_j / (d x_a d x_b),  (a, b) = pairs[p]   (N, P, d)

Only the second derivatives listed in ``pairs`` are carried (the diagonal ones by default),
so a Laplacian costs ``C`` extra channels, not ``C^2``. Every model layer that supports jets
maps a jet of its inputs to a jet of its outputs with the chain rule:

    linear  y = x W + b:       y' = x' W,          y'' = x'' W
    pointwise y = f(x):        y' = f'(x) x',      y''_ab = f'(x) x''_ab + f''(x) x'_a x'_b
    univariate sum y_j = sum_i phi_ij(x_i):
                               y'_j = sum_i phi'_ij(x_i) x'_i,
                               y''_j,ab = sum_i phi'_ij(x_i) x''_i,ab + phi''_ij(x_i) x'_i,a x'_i,b

All derivatives are ordinary differentiable tensors, so one backward pass through a jet gives
the gradient with respect to the parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

Pairs = tuple[tuple[int, int], ...]


def diagonal_pairs(n_coords: int) -> Pairs:
    """The pairs ``(c, c)`` for ``c < n_coords``: the pure second derivatives."""
    return tuple((c, c) for c in range(n_coords))


def normalize_pairs(pairs: Sequence[Sequence[int]], n_coords: int) -> Pairs:
    """Sort each pair as ``(a, b)`` with ``a <= b``, drop repeats, keep first-seen order.

    Raises ValueError when an index is outside ``[0, n_coords)``.
    """
    out: list[tuple[int, int]] = []
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f"a derivative pair must hold two coordinate indices, got {pair!r}")
        a, b = sorted(int(i) for i in pair)
        if a < 0 or b >= n_coords:
            raise ValueError(
                f"derivative pair {tuple(pair)} names a coordinate outside 0..{n_coords - 1}"
            )
        if (a, b) not in out:
            out.append((a, b))
    return tuple(out)


def expanded_along_points(t: Tensor) -> bool:
    """True when ``t`` ``(N, ...)`` repeats one row for all ``N > 1`` points (stride 0), as the
    seed jet's ``d1 = I`` and ``d2 = 0`` do."""
    return t.shape[0] > 1 and t.stride(0) == 0


@dataclass
class Jet:
    """Value, first derivatives and selected second derivatives of a vector field.

    Attributes:
        value: ``(N, d)``.
        d1: ``(N, C, d)``, first derivatives along each of the ``C`` input coordinates.
        d2: ``(N, P, d)``, second derivatives along each pair in ``pairs``.
        pairs: ``P`` coordinate-index pairs ``(a, b)`` with ``a <= b``.
    """

    value: Tensor
    d1: Tensor
    d2: Tensor
    pairs: Pairs

    def __post_init__(self) -> None:
        n, d = self.value.shape
        if self.d1.shape[0] != n or self.d1.shape[2] != d:
            raise ValueError(f"jet d1 shape {tuple(self.d1.shape)} does not match value {(n, d)}")
        if self.d2.shape != (n, len(self.pairs), d):
            raise ValueError(
                f"jet d2 shape {tuple(self.d2.shape)} does not match "
                f"(N, P, d) = {(n, len(self.pairs), d)}"
            )

    @property
    def n_coords(self) -> int:
        return self.d1.shape[1]

    @property
    def width(self) -> int:
        return self.value.shape[1]

    @staticmethod
    def seed(x: Tensor, pairs: Sequence[Sequence[int]] | None = None) -> Jet:
        """The jet of the identity map at ``x`` ``(N, C)``: ``d1 = I``, ``d2 = 0``.

        ``pairs`` defaults to the diagonal pairs (what a Laplacian needs). ``d1`` and ``d2``
        are one row expanded along the points (stride 0: nothing of size ``N`` is stored).
        """
        if x.dim() != 2:
            raise ValueError(f"jet input must be (N, C), got shape {tuple(x.shape)}")
        n, c = x.shape
        prs = diagonal_pairs(c) if pairs is None else normalize_pairs(pairs, c)
        eye = torch.eye(c, dtype=x.dtype, device=x.device)
        d1 = eye.unsqueeze(0).expand(n, c, c)
        d2 = x.new_zeros(1, len(prs), c).expand(n, len(prs), c)
        return Jet(x, d1, d2, prs)

    def scale_channels(self, s: Tensor) -> tuple[Tensor, Tensor]:
        """``(d1 * s, d2 * s)`` for ``s`` ``(d,)``; a channel expanded along the points (the
        seed's) stays expanded, so scaling it costs one row."""
        return tuple(  # type: ignore[return-value]
            (t[:1] * s).expand(t.shape) if expanded_along_points(t) else t * s
            for t in (self.d1, self.d2)
        )

    def map_linear(self, weight: Tensor, bias: Tensor | None = None) -> Jet:
        """Jet of ``value @ weight + bias``; ``weight`` is ``(d, d_out)``."""
        value = self.value @ weight
        if bias is not None:
            value = value + bias
        return Jet(value, self.d1 @ weight, self.d2 @ weight, self.pairs)

    def map_pointwise(self, f: Tensor, df: Tensor, ddf: Tensor) -> Jet:
        """Jet of a pointwise function given ``f(v), f'(v), f''(v)``, each ``(N, d)``."""
        df = df.unsqueeze(1)
        d1 = df * self.d1
        d2 = torch.addcmul(df * self.d2, ddf.unsqueeze(1), self.outer_d1())
        return Jet(f, d1, d2, self.pairs)

    def apply(self, fn: Callable[[Tensor], tuple[Tensor, Tensor, Tensor]]) -> Jet:
        """Jet of a pointwise function ``fn(v) -> (f, f', f'')``."""
        return self.map_pointwise(*fn(self.value))

    def outer_d1(self) -> Tensor:
        """``d1[:, a] * d1[:, b]`` for each pair ``(a, b)``: ``(N, P, d)``."""
        n_coords = self.d1.shape[1]
        if self.pairs == diagonal_pairs(n_coords):  # the Laplacian case: no gather needed
            return self.d1 * self.d1
        a = torch.tensor([p[0] for p in self.pairs], dtype=torch.long, device=self.d1.device)
        b = torch.tensor([p[1] for p in self.pairs], dtype=torch.long, device=self.d1.device)
        return self.d1.index_select(1, a) * self.d1.index_select(1, b)

    def scale(self, s: Tensor | float) -> Jet:
        """Jet of ``s * value`` for a constant ``s`` (broadcast over the last axis)."""
        return Jet(self.value * s, self.d1 * s, self.d2 * s, self.pairs)

    def __add__(self, other: Jet) -> Jet:
        if self.pairs != other.pairs:
            raise ValueError("cannot add jets carrying different derivative pairs")
        return Jet(self.value + other.value, self.d1 + other.d1, self.d2 + other.d2, self.pairs)

    @staticmethod
    def cat(jets: Sequence[Jet]) -> Jet:
        """Concatenate jets of the same points along the channel axis (widths add up)."""
        if not jets:
            raise ValueError("Jet.cat needs at least one jet")
        pairs = jets[0].pairs
        if any(j.pairs != pairs for j in jets):
            raise ValueError("cannot concatenate jets carrying different derivative pairs")
        return Jet(
            torch.cat([j.value for j in jets], dim=-1),
            torch.cat([j.d1 for j in jets], dim=-1),
            torch.cat([j.d2 for j in jets], dim=-1),
            pairs,
        )
