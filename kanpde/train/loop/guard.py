"""The NaN guard: a step whose loss is not finite, explodes (more than ``EXPLODE`` times the
first step's loss) or leaves non-finite parameters is undone: model, optimizer state and loss
balancer return to the snapshot taken after the last good step and the learning rate is
scaled by ``rollback_lr_factor``; after ``max_rollbacks`` rollbacks the run is "diverged".
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn

from kanpde.train import distributed

EXPLODE = 1e8


def healthy(loss: float, ref_loss: float | None, model: nn.Module, comm: distributed.Comm,
            device: torch.device | str = "cpu") -> bool:
    """Whether a step is acceptable (the same decision on every rank)."""
    ok = math.isfinite(loss)
    if ok and ref_loss is not None and loss > EXPLODE * max(ref_loss, 1e-30):
        ok = False
    ok = ok and all(bool(torch.isfinite(p).all()) for p in model.parameters())
    return comm.all_true(ok, device)


class Snapshot:
    """The state a rollback returns to: model, optimizer and loss balancer (deep copies)."""

    def __init__(self, model: nn.Module, optimizer, balancer) -> None:
        self._state: dict[str, Any] = {
            "model": copy.deepcopy(model.state_dict()),
            "opt": copy.deepcopy(optimizer.state_dict()),
            "balancer": copy.deepcopy(balancer.state_dict()),
        }

    def restore(self, model: nn.Module, optimizer, balancer,
                device: torch.device | str = "cpu") -> None:
        model.load_state_dict(self._state["model"])
        optimizer.load_state_dict(copy.deepcopy(self._state["opt"]))
        balancer.load_state_dict(copy.deepcopy(self._state["balancer"]), device)
