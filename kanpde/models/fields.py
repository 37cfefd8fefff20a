r"""Separate networks for some outputs: a solver network beside coefficient-field networks.

In an inverse problem the unknown coefficient ``a`` is often a field of fewer variables
than the solution (``a(x, y)`` beside ``u(x, y, t)``), best learned by its own network:

    model(x) = [ main(x),  f_1(x[:, cols_1]),  ...,  f_k(x[:, cols_k]) ]     (N, m + k)

``main`` maps all ``C`` inputs to the first ``m`` outputs; each field network ``f_j`` sees only
its input columns ``cols_j`` and gives one output. Derivative jets follow the same split: the
field network receives the channels ``cols_j`` of the input jet, so its derivatives stay
derivatives in all ``C`` coordinates (zero along the coordinates it does not see):

    d f_j(x[:, cols]) / d x_c = sum_{i in cols} (d f_j / d s_i) (d x_i / d x_c).

KAN grid methods reach every part that has them (``extend_grid`` with the field's columns of
the samples). ``unwrap`` gives the main model, so tools that look for "the" backbone (the
spline-order check, interpretability, run records) find the solver network. Nothing here knows
about PDEs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from kanpde.core.jet import Jet


def _columns(cols: Sequence[int]) -> slice | list[int]:
    """A slice when ``cols`` are consecutive (a slice keeps the seed jet's stride-0 rows)."""
    cols = list(cols)
    if cols == list(range(cols[0], cols[0] + len(cols))):
        return slice(cols[0], cols[0] + len(cols))
    return cols


def _select(jet: Jet, cols: slice | list[int]) -> Jet:
    """The jet of the input channels ``cols``: ``(N, k)``, ``(N, C, k)``, ``(N, P, k)``."""
    return Jet(jet.value[:, cols], jet.d1[:, :, cols], jet.d2[:, :, cols], jet.pairs)


class Fields(nn.Module):
    """``[main(x), f_1(x[:, cols_1]), ...]`` (see the module docstring).

    Args:
        main: the solver network (inputs ``(N, C)``, outputs ``(N, m)``).
        fields: ``{name: (network, cols)}`` in output order; each network maps
            ``(N, len(cols))`` to ``(N, 1)``; ``cols`` are distinct indices in ``[0, C)``.
        dim_in: ``C``.
    """

    def __init__(self, main: nn.Module, fields: Mapping[str, tuple[nn.Module, Sequence[int]]],
                 dim_in: int) -> None:
        super().__init__()
        if not fields:
            raise ValueError("Fields needs at least one field network")
        self.main = main
        self.fields = nn.ModuleDict()
        self.cols: dict[str, slice | list[int]] = {}
        self.dim_in = int(dim_in)
        for name, (net, cols) in fields.items():
            cols = [int(c) for c in cols]
            if not cols or len(set(cols)) != len(cols) or min(cols) < 0 or max(cols) >= dim_in:
                raise ValueError(f"field {name!r}: input columns {cols} must be distinct "
                                 f"indices in 0..{dim_in - 1}")
            out = getattr(net, "dim_out", 1)
            if out != 1:
                raise ValueError(f"field {name!r}: its network must have one output, got {out}")
            self.fields[name] = net
            self.cols[name] = _columns(cols)

    @property
    def names(self) -> list[str]:
        return list(self.fields.keys())

    @property
    def dim_out(self) -> int:
        return int(self.main.dim_out) + len(self.fields)

    @property
    def widths(self) -> list[int]:
        """The main network's widths (what a run records as the model's)."""
        return list(self.main.widths)

    def parts(self) -> list[tuple[nn.Module, slice | list[int] | None]]:
        """``(module, its input columns)`` for the main model (None: every column) and each
        field network."""
        return [(self.main, None)] + [(net, self.cols[n]) for n, net in self.fields.items()]

    def unwrap(self) -> tuple[nn.Module, Callable[[Tensor], Tensor]]:
        """``(main, identity)``: the solver network is the backbone seen by other tools."""
        return self.main, lambda x: x

    def forward(self, x: Tensor) -> Tensor:
        outs = [net(x if cols is None else x[:, cols]) for net, cols in self.parts()]
        return torch.cat(outs, dim=1)

    @property
    def forward_jet(self) -> Callable[[Jet], Jet]:
        """Present iff every part has ``forward_jet``: the parts' jets concatenated."""
        for net, _ in self.parts():
            if not callable(getattr(net, "forward_jet", None)):
                raise AttributeError(f"{type(net).__name__} has no forward_jet")

        def forward_jet(jet: Jet) -> Jet:
            return Jet.cat([net.forward_jet(jet if cols is None else _select(jet, cols))
                            for net, cols in self.parts()])

        return forward_jet

    def _grid_parts(self) -> list[tuple[nn.Module, slice | list[int] | None]]:
        return [(n, c) for n, c in self.parts() if getattr(n, "supports_grid_updates", False)]

    @property
    def supports_grid_updates(self) -> bool:
        return bool(self._grid_parts())

    @property
    def grid_size(self) -> int:
        """The main network's grid size, else the first field network's that has one."""
        for net, _ in self.parts():
            if hasattr(net, "grid_size"):
                return net.grid_size
        raise AttributeError("no part of this Fields model has a grid_size")

    def extend_grid(self, new_grid_size: int, x: Tensor | None = None) -> None:
        """Every KAN part to ``new_grid_size`` (each fit on its columns of ``x``)."""
        for net, cols in self._grid_parts():
            net.extend_grid(new_grid_size,
                            None if x is None else x if cols is None else x[:, cols])

    def update_grid(self, x: Tensor, *args, **kwargs) -> None:
        """Every KAN part's grid adapted to its columns of ``x``."""
        for net, cols in self._grid_parts():
            net.update_grid(x if cols is None else x[:, cols], *args, **kwargs)
