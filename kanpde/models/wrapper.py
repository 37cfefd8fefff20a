"""One wrapper protocol: a network behind a map of its inputs.

``InputMapped``: ``forward(x) = net(input_map(x))`` for a module ``net`` and an input map
(scaling from the domain to ``[-1, 1]``, an embedding) that has ``forward`` and
``forward_jet``. It forwards what callers ask of the network through the map, in one style:
the widths and dimensions, the KAN grid methods ``extend_grid`` / ``update_grid`` (the
samples mapped first) and ``forward_jet`` (the jet mapped first). The forwarded attributes
exist only when ``net`` has them (``hasattr(wrapped, "forward_jet")`` is
``hasattr(net, "forward_jet")``), and ``supports_grid_updates`` is False when absent.

:meth:`InputMapped.unwrap` gives ``(net, input_map)``; every wrapper of a physical model
(this one and the hard constraint of :mod:`kanpde.pde.constraint`) has ``unwrap``, so the
backbone is found one way everywhere (:mod:`kanpde.models.backbone`).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from kanpde.core.jet import Jet


class InputMapped(nn.Module):
    """``net`` after the input map ``self.input_map()`` (see the module docstring).

    Subclasses set ``self.net`` and the map module, and return the map from
    :meth:`input_map`; state-dict names stay those of the subclass (``net.*`` and the
    map's attribute)."""

    net: nn.Module

    def input_map(self) -> nn.Module:
        raise NotImplementedError

    def unwrap(self) -> tuple[nn.Module, Callable[[Tensor], Tensor]]:
        """``(net, map)``: the wrapped network and the map of this wrapper's inputs to it."""
        return self.net, self.input_map()

    def forward(self, x: Tensor) -> Tensor:
        return self.net(self.input_map()(x))

    @property
    def widths(self) -> list[int]:
        return list(self.net.widths)

    @property
    def dim_out(self) -> int:
        return self.net.dim_out

    @property
    def layers(self):
        """The wrapped network's layers (None when it has none)."""
        return getattr(self.net, "layers", None)

    @property
    def supports_grid_updates(self) -> bool:
        return bool(getattr(self.net, "supports_grid_updates", False))

    @property
    def grid_size(self) -> int:
        if not hasattr(self.net, "grid_size"):
            raise AttributeError(f"{type(self.net).__name__} has no grid_size")
        return self.net.grid_size

    def _net_method(self, name: str) -> Callable:
        if not hasattr(self.net, name):
            raise AttributeError(f"{type(self.net).__name__} has no {name}")
        return getattr(self.net, name)

    @property
    def forward_jet(self) -> Callable[[Jet], Jet]:
        """``jet -> net.forward_jet(map.forward_jet(jet))`` (present iff net has it)."""
        method = self._net_method("forward_jet")
        return lambda jet: method(self.input_map().forward_jet(jet))

    @property
    def extend_grid(self) -> Callable[..., None]:
        """``(new_grid_size, x=None)``: ``net.extend_grid`` with mapped ``x``."""
        method = self._net_method("extend_grid")

        def extend_grid(new_grid_size: int, x: Tensor | None = None) -> None:
            method(new_grid_size, None if x is None else self.input_map()(x))

        return extend_grid

    @property
    def update_grid(self) -> Callable[..., None]:
        """``(x, **kwargs)``: ``net.update_grid`` with mapped ``x``."""
        method = self._net_method("update_grid")

        def update_grid(x: Tensor, *args, **kwargs) -> None:
            method(self.input_map()(x), *args, **kwargs)

        return update_grid
