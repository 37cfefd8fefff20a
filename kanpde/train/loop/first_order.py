"""One Adam or L-BFGS step on the trainer's loss (a closure; L-BFGS calls it repeatedly).

The step's loss, term losses and pointwise residuals are those of the closure's first
evaluation (at the parameters before the step); in a data-parallel run the loss is the mean
of the ranks' and the gradients are averaged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from kanpde.train import distributed

LossFn = Callable[[], tuple[Tensor, dict[str, Tensor], dict[str, Tensor]]]


def first_order_step(opt: torch.optim.Optimizer, kind: str, loss_fn: LossFn, model: nn.Module,
                     comm: distributed.Comm
                     ) -> tuple[float, dict[str, float], dict[str, Tensor]]:
    """``kind`` "adam" or "lbfgs"; returns (loss, term losses, pointwise residuals)."""
    record: dict[str, Any] = {}
    params = list(model.parameters())

    def closure():
        opt.zero_grad(set_to_none=True)
        loss, terms, pointwise = loss_fn()
        value = loss
        if comm.distributed:  # the loss over all shards: the mean of the ranks'
            both = comm.all_reduce(torch.stack([loss.detach(), *terms.values()]), "mean")
            value = both[0]
            terms = dict(zip(terms, both[1:], strict=True))
        if "loss" not in record:
            record["loss"] = float(value.detach())
            record["terms"] = {t: float(v.detach()) for t, v in terms.items()}
            record["pointwise"] = {t: r.detach() for t, r in pointwise.items()}
        if torch.isfinite(value):
            loss.backward()
            for p in params:  # L-BFGS flattens grads with .view(-1)
                if p.grad is not None and not p.grad.is_contiguous():
                    p.grad = p.grad.contiguous()
            comm.average_gradients(params)
        return value

    if kind == "lbfgs":
        opt.step(closure)
    else:
        closure()
        if math.isfinite(record["loss"]):
            opt.step()
    return record["loss"], record["terms"], record["pointwise"]
