"""The network inside the wrappers of a physical model, found one way everywhere.

A physical model stacks wrappers around its backbone: an exact output transform
(:class:`~kanpde.pde.HardConstraint`), input scaling (:class:`ScaledModel`) and embeddings
(:class:`Embedded`); each has ``unwrap() -> (inner, input map)`` (:mod:`.wrapper`).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from kanpde.models.kan.network import KAN

MAX_DEPTH = 16


def unwrap(model: nn.Module) -> tuple[nn.Module, Callable[[Tensor], Tensor]] | None:
    """``model.unwrap()`` for a wrapper (:mod:`kanpde.models.wrapper`: the wrapped network
    and the map of the wrapper's inputs to it); None for a network that wraps nothing."""
    method = getattr(model, "unwrap", None)
    return method() if callable(method) else None


def backbone(model: nn.Module) -> nn.Module:
    """The innermost network of ``model`` (below constraint, scaling and embeddings)."""
    net = model
    for _ in range(MAX_DEPTH):
        inner = unwrap(net)
        if inner is None:
            return net
        net = inner[0]
    return net


def grid_size_of(model: nn.Module) -> int | None:
    """The KAN grid size of ``model`` (as its wrappers forward it: a
    :class:`~kanpde.models.Fields` model's first part that has one), else of its backbone;
    None for networks without a grid."""
    g = getattr(model, "grid_size", None)
    if not isinstance(g, int):
        g = getattr(backbone(model), "grid_size", None)
    return g if isinstance(g, int) else None


def kan_backbone(model: nn.Module, x: Tensor | None = None) -> tuple[KAN, Tensor | None]:
    """The KAN inside ``model`` and ``x`` ``(N, dim_in)`` mapped to that KAN's inputs
    (through every wrapper's input map); raises ValueError when no KAN is found."""
    net = model
    for _ in range(MAX_DEPTH):
        if isinstance(net, KAN):
            return net, x
        inner = unwrap(net)
        if inner is None:
            break
        net, to_inner = inner
        x = None if x is None else to_inner(x)
    raise ValueError(
        f"model={type(model).__name__} has no KAN backbone; interpretability needs a KAN "
        "(model=kan)"
    )
