"""The KAN grid schedule at a step: extension to the next size at ``grid.extend_at`` steps,
knot updates every ``grid.update_every`` steps; refits use every rank's points, and the
replicas are made bitwise equal again afterwards."""

from __future__ import annotations

import logging

import torch
from torch import nn

from kanpde.models.backbone import grid_size_of
from kanpde.train import distributed
from kanpde.train.config import GridSchedule

log = logging.getLogger("kanpde.train")


def has_grid(model: nn.Module) -> bool:
    """Whether the model has a spline grid that can be extended and updated."""
    return bool(getattr(model, "supports_grid_updates", False))


def grid_event(schedule: GridSchedule, step: int) -> str | None:
    """``"extend"``, ``"update"`` or None: what the schedule does at ``step``."""
    if step in schedule.extend_at:
        return "extend"
    if schedule.update_every and step > 0 and step % schedule.update_every == 0:
        return "update"
    return None


def apply_grid_events(schedule: GridSchedule, step: int, model: nn.Module,
                      x_residual: torch.Tensor, comm: distributed.Comm) -> bool:
    """Run the schedule's event at ``step`` on ``model`` (fitting on the residual points of
    every rank); True when the parameters changed shape or knots (rebuild the optimizer)."""
    event = grid_event(schedule, step) if has_grid(model) else None
    if event is None:
        return False
    info = log.info if comm.is_main else log.debug
    x = comm.all_gather_cat(x_residual)
    with torch.no_grad():
        if event == "extend":
            new = schedule.sizes[schedule.extend_at.index(step)]
            old = grid_size_of(model)
            model.extend_grid(new, x)
            info("step %d: grid extended G=%s -> %d", step, old, new)
        else:
            model.update_grid(x)
            info("step %d: grid updated from %d samples", step, x.shape[0])
    comm.broadcast_module(model)  # bitwise equal replicas after the refit
    return True
