"""Held-out sets: what a run is judged by when its loss can be driven below its error.

Observations (``train.validation = f > 0``, :class:`HeldOut`): the trainer holds ``f`` of
every data term's observations out of the loss (:meth:`kanpde.pde.Problem.hold_out`, seeded
by the run's seed) and, at every evaluation, computes their misfit

    V = mean_i |u_C(x_i) - d_i|^2      over the held-out rows of every data term,

recorded in the history as ``val_data``. On noisy data a least-squares solver otherwise ends
fitting the noise.

Collocation points (``train.validation_points = n > 0``, :class:`HeldOutPoints`): a second
draw of ``n`` interior points (and of the conditions' points in the run's proportion
``n_boundary / n_interior``), from a seed independent of the training points', on which
the problem's own loss is measured at every evaluation,

    V = sum_t w_t mean_i r_t(x_i)^2     over the held-out points of every term t,

(``w_t`` the run's static loss weights; terms of weight 0, such as those a hard constraint
satisfies, are left out), recorded as ``val_points``. A network that fits a
fixed point set ever better while its error between the points grows shows it as a rising
``V``.

Either way the parameters (and learned coefficients) of the lowest ``V`` so far are kept in
the loop state, so a checkpoint carries them, and the run ends with them: early stopping by
a held-out set, without looking at the reference solution.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch
from torch import nn


class HeldOutSet(ABC):
    """A held-out set: :meth:`misfit` gives its ``V``, recorded in the history under
    :attr:`key`; :meth:`keep_best` keeps the parameters of the lowest ``V``."""

    key: str

    @abstractmethod
    def misfit(self, model: nn.Module) -> float:
        """``V`` of ``model`` on this set."""

    def keep_best(self, st: dict[str, Any], value: float, trained: nn.Module,
                  grid_size: int | None) -> None:
        """Store ``trained``'s state (model and learned coefficients) in ``st["best"]`` when
        ``value`` (this set's ``V``, under :attr:`key`) is the lowest so far."""
        best = st.get("best")
        if not math.isfinite(value) or (best is not None and value >= best[self.key]):
            return
        st["best"] = {self.key: value, "step": st["step"], "grid_size": grid_size,
                      "state": {k: v.detach().cpu().clone()
                                for k, v in trained.state_dict().items()}}


class HeldOut(HeldOutSet):
    """The held-out rows of a problem's data terms (see the module docstring).

    Args:
        problem: the problem (split here, once).
        fraction: the held-out share of each data term, in ``(0, 1)``.
        seed: seeds the split.
        device, dtype: where the misfit is computed.
    """

    key = "val_data"  # the history's name of V

    def __init__(self, problem, fraction: float, seed: int, device: torch.device,
                 dtype: torch.dtype) -> None:
        held = problem.hold_out(fraction, seed)
        self.x = torch.as_tensor(np.concatenate([o.x for o in held.values()]), device=device,
                                 dtype=dtype)
        self.parts = []  # (row slice, components, values (n, |C|))
        start = 0
        for obs in held.values():
            rows = slice(start, start + obs.n)
            self.parts.append((rows, list(obs.components),
                               torch.as_tensor(obs.u, device=device, dtype=dtype)))
            start += obs.n
        self.n = start

    @torch.no_grad()
    def misfit(self, model: nn.Module) -> float:
        """``V``: the mean squared misfit over every held-out value."""
        u = model(self.x)
        total = sum(float(((u[rows][:, comps] - d) ** 2).sum()) for rows, comps, d in self.parts)
        return total / sum(d.numel() for _, _, d in self.parts)


class HeldOutPoints(HeldOutSet):
    """Held-out collocation points of every weighted term but the data terms (see the
    module docstring): ``{term: (m_t, d)}`` drawn once by ``problem.sample_points``.

    Args:
        problem: the problem.
        sampler: the run's sampler.
        n_interior: held-out interior points ``n``.
        n_boundary: the conditions' points, ``n * (run's n_boundary / n_interior)``.
        seed: seeds the draw (keep it apart from the training points' seeds).
        device, dtype: where the loss is computed.
        weights: ``{term: w_t}``, the run's static loss weights (default: the problem's).
        engine: the derivative engine of the run.
    """

    key = "val_points"

    def __init__(self, problem, sampler, n_interior: int, n_boundary: int, seed: int,
                 device: torch.device, dtype: torch.dtype,
                 weights: dict[str, float] | None = None, engine: str = "auto") -> None:
        self.problem, self.engine = problem, engine
        data = {c.name for c in problem.conditions if c.kind == "data"}
        w = problem.loss_weights if weights is None else weights
        points = problem.sample_points(sampler, n_interior, n_boundary, seed)
        self.points = {k: v.to(device, dtype) for k, v in points.items()
                       if k not in data and w[k] != 0}
        self.weights = {t: float(w[t]) for t in self.points}

    def misfit(self, model: nn.Module) -> float:
        """``V``: the weighted loss on the held-out points."""
        losses = self.problem.losses(model, self.points, self.engine)
        return float(self.problem.weighted_loss(losses, self.weights).detach())
