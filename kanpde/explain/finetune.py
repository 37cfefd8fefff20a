"""Fine-tuning on the PDE loss: ``L = sum_t w_t mean(r_t^2)`` over the problem's terms.

Minimizes the problem's weighted loss (:meth:`Problem.losses`, weights
``problem.loss_weights`` unless given) over the trainable parameters of ``model`` (for a
:class:`~kanpde.explain.symbolic.SymbolicKAN`: the affine parameters of its locked edges)
with L-BFGS and a strong-Wolfe line search, on fixed collocation points. Derivatives by
nested autograd (any module works).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn


def pde_loss(model: nn.Module, problem, points: Mapping[str, Tensor],
             weights: Mapping[str, float] | None = None, engine: str = "autograd") -> Tensor:
    """``sum_t w_t mean(r_t^2)`` of ``model`` on ``points`` (scalar tensor)."""
    w = dict(problem.loss_weights if weights is None else weights)
    losses = problem.losses(model, points, engine=engine)
    return sum(w.get(t, 1.0) * v for t, v in losses.items())


def finetune(model: nn.Module, problem, points: Mapping[str, Tensor], steps: int,
             weights: Mapping[str, float] | None = None, engine: str = "autograd",
             max_iter: int = 20) -> list[float]:
    """Run ``steps`` L-BFGS steps (each up to ``max_iter`` iterations); return the loss
    after each step (the first entry: before any step). Stops early when the loss stops
    changing or turns non-finite (the parameters of the last finite loss are restored)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps={steps!r} must be an integer >= 0")
    params = [p for p in model.parameters() if p.requires_grad]
    history = [float(pde_loss(model, problem, points, weights, engine).detach())]
    if not params or steps == 0:
        return history
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, history_size=50,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-15,
                            tolerance_change=1e-18)

    def closure() -> Tensor:
        opt.zero_grad(set_to_none=True)
        loss = pde_loss(model, problem, points, weights, engine)
        if torch.isfinite(loss):
            loss.backward()
        return loss

    for _ in range(steps):
        saved = [p.detach().clone() for p in params]
        opt.step(closure)
        with torch.no_grad():
            loss = float(pde_loss(model, problem, points, weights, engine))
        if not math.isfinite(loss):
            with torch.no_grad():
                for p, s in zip(params, saved, strict=True):
                    p.copy_(s)
            break
        history.append(loss)
        if len(history) > 2 and abs(history[-2] - loss) <= 1e-16 * max(abs(loss), 1e-300):
            break
    return history
