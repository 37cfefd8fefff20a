r"""``torch.compile`` of a model's two passes: ``forward`` and ``forward_jet``.

:class:`CompiledModel` is a view of a model for the training step: calling it runs
``torch.compile(model.forward)`` and its ``forward_jet`` (present iff the model has one) runs
``torch.compile(model.forward_jet)``; both share the model's parameters and buffers, so the
optimizer, checkpoints and evaluation keep using the model itself. The compiled jet pass fuses
the many small pointwise operations of the chain rule (and of the B-spline evaluation) into a
few loops, forward and backward; the numbers are those of the eager model up to rounding.

Recompilation happens when a guard fails: on the first call with another number of points
(the second compilation treats ``N`` as dynamic), in another grad mode, and after a KAN grid
change (new coefficient shapes, or a non-uniform grid after ``update_grid``). Each
compilation takes seconds to a minute on a CPU, so compiling pays off only for runs of many
steps on a fixed grid (measured figures: ``python -m kanpde.bench jets --compile`` and the
README); it is off by default (``train.compile: false``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from kanpde.models.jet import Jet


class CompiledModel(nn.Module):
    """``model`` with ``forward`` and ``forward_jet`` compiled by ``torch.compile``.

    Args:
        model: any module mapping ``(N, C)`` to ``(N, d)``; held (not copied) as ``module``.
        **options: passed to ``torch.compile`` (e.g. ``mode``, ``dynamic``, ``backend``).

    ``forward`` ``(N, C) -> (N, d)``; ``forward_jet`` ``Jet (width C) -> Jet (width d)``.
    """

    def __init__(self, model: nn.Module, **options: Any) -> None:
        super().__init__()
        if isinstance(model, CompiledModel):
            raise ValueError("the model is already a CompiledModel")
        self.module = model
        # plain attributes (not submodules): the compiled callables hold no extra state
        object.__setattr__(self, "_forward", torch.compile(model.forward, **options))
        jet = getattr(model, "forward_jet", None)
        object.__setattr__(self, "_jet", torch.compile(jet, **options) if callable(jet) else None)

    def forward(self, x: Tensor) -> Tensor:
        return self._forward(x)

    @property
    def forward_jet(self) -> Callable[[Jet], Jet]:
        """Present iff the wrapped model has ``forward_jet``."""
        if self._jet is None:
            raise AttributeError(f"{type(self.module).__name__} has no forward_jet")
        return self._jet
