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
README); it is off by default (``train.compile: false``). ``torch.compile`` cannot trace
the native fused KAN pass (:mod:`kanpde.models.kan.fused_jet`), so a compiled KAN runs the
PyTorch contractions, which on a CPU with the native kernels is slower than the eager model.
Dynamo keeps at most ``torch._dynamo.config.recompile_limit`` (default 8) variants of a
function per process, shared by all models of one class; past it the eager code runs (with
a warning), so compile one model per process, as ``kanpde`` does, or call
``torch._dynamo.reset()`` between models.
Constructing one sets ``torch._functorch.config.donated_buffer = False`` for the process
(a compiled backward with donated buffers refuses ``retain_graph=True``; the only cost is
memory reuse inside compiled backward passes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch._functorch.config as functorch_config
from torch import Tensor, nn

from kanpde.core.jet import Jet


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
        # AOTAutograd's donated buffers make a compiled backward refuse retain_graph=True,
        # which gradient-norm weighting needs (one gradient per loss term); the flag is read
        # both at compile time and at every backward, so it is switched off process-wide
        functorch_config.donated_buffer = False
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
