"""The network inside the wrappers of a physical model, found one way everywhere.

A physical model stacks wrappers around its backbone: an exact output transform
(:class:`~kanpde.pde.HardConstraint`, holding it as ``model``), input scaling
(:class:`ScaledModel`, as ``net``) and embeddings (:class:`Embedded`, as ``net``).
"""

from __future__ import annotations

from torch import Tensor, nn

from kanpde.models.embedding import Embedded
from kanpde.models.kan.network import KAN
from kanpde.models.scaling import ScaledModel

MAX_DEPTH = 16


def backbone(model: nn.Module) -> nn.Module:
    """The innermost network of ``model`` (below constraint, scaling and embeddings)."""
    net = model
    for _ in range(MAX_DEPTH):
        inner = getattr(net, "net", None)
        if not isinstance(inner, nn.Module):
            inner = getattr(net, "model", None)
        if not isinstance(inner, nn.Module):
            return net
        net = inner
    return net


def grid_size_of(model: nn.Module) -> int | None:
    """The KAN grid size of ``model``'s backbone; None for other networks."""
    g = getattr(backbone(model), "grid_size", None)
    return g if isinstance(g, int) else None


def kan_backbone(model: nn.Module, x: Tensor | None = None) -> tuple[KAN, Tensor | None]:
    """The KAN inside ``model`` and ``x`` ``(N, dim_in)`` mapped to that KAN's inputs.

    Unwraps ``ScaledModel`` (applies its scaling), ``Embedded`` (applies its embedding) and
    ``HardConstraint`` (same inputs); raises ValueError when no KAN is found.
    """
    net = model
    for _ in range(16):
        if isinstance(net, KAN):
            return net, x
        if isinstance(net, ScaledModel):
            x = None if x is None else net.scaling(x)
            net = net.net
        elif isinstance(net, Embedded):
            x = None if x is None else net.embedding(x)
            net = net.net
        elif isinstance(getattr(net, "model", None), nn.Module):
            net = net.model
        else:
            break
    raise ValueError(
        f"model={type(model).__name__} has no KAN backbone; interpretability needs a KAN "
        "(model=kan)"
    )
