"""Optimizers of the training phases and their learning-rate schedules."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from kanpde.train.config import Phase
from kanpde.train.gauss_newton.optimizer import GaussNewton


def phase_base_lr(phase: Phase, base_lr: float) -> float:
    """The phase's starting rate: its own ``lr``, else ``base_lr`` (Adam) or 1.0 (L-BFGS,
    Gauss-Newton)."""
    if phase.lr is not None:
        return float(phase.lr)
    return base_lr if phase.optimizer == "adam" else 1.0


def scheduled_lr(phase: Phase, base_lr: float, local_step: int) -> float:
    """Learning rate at step ``local_step`` (0-based) of ``phase``.

    constant: ``lr``; cosine: ``lr * (f + (1 - f) (1 + cos(pi s / S)) / 2)``;
    exponential: ``lr * f ** (s / S)``, with ``f = final_lr_factor``, ``S = steps``.
    """
    lr = phase_base_lr(phase, base_lr)
    s = min(local_step, phase.steps) / max(phase.steps, 1)
    f = phase.final_lr_factor
    if phase.schedule == "cosine":
        return lr * (f + (1.0 - f) * 0.5 * (1.0 + math.cos(math.pi * s)))
    if phase.schedule == "exponential":
        return lr * f**s
    return lr


def make_optimizer(
    phase: Phase, params: Iterable[torch.nn.Parameter], lr: float, comm=None
) -> torch.optim.Optimizer | GaussNewton:
    """Adam, L-BFGS with a strong-Wolfe line search and tolerances that never stop early, or
    Gauss-Newton (Levenberg-Marquardt; ``comm`` for data-parallel reductions)."""
    params = list(params)
    if phase.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr)
    if phase.optimizer == "gauss_newton":
        return GaussNewton(
            params, lr=lr, damping=phase.damping, solver=phase.solver, max_iter=phase.max_iter,
            cg_max_iter=phase.cg_max_iter, dense_max_params=phase.dense_max_params,
            varpro=phase.varpro, comm=comm, preconditioner=phase.preconditioner,
            nystrom_rank=phase.nystrom_rank, cg_rtol=phase.cg_rtol, memory_gb=phase.memory_gb,
            subsample=phase.subsample,
        )
    return torch.optim.LBFGS(
        params,
        lr=lr,
        max_iter=phase.max_iter,
        history_size=phase.history_size,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-14,
        tolerance_change=1e-16,
    )


def set_lr(optimizer: torch.optim.Optimizer | GaussNewton, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
