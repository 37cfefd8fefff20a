"""Held-out observations: the misfit a run is judged by when its data are noisy.

With ``train.validation = f > 0`` the trainer holds ``f`` of every data term's observations
out of the loss (:meth:`kanpde.pde.Problem.hold_out`, seeded by the run's seed) and, at every
evaluation, computes their misfit

    V = mean_i |u_C(x_i) - d_i|^2      over the held-out rows of every data term,

recorded in the history as ``val_data``. The parameters (and learned coefficients) of the
lowest ``V`` so far are kept in the loop state, so a checkpoint carries them; the run ends
with them: early stopping by a held-out set, without looking at the reference solution. On
noisy data a least-squares solver otherwise ends fitting the noise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn


class HeldOut:
    """The held-out rows of a problem's data terms (see the module docstring).

    Args:
        problem: the problem (split here, once).
        fraction: the held-out share of each data term, in ``(0, 1)``.
        seed: seeds the split.
        device, dtype: where the misfit is computed.
    """

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

    @staticmethod
    def keep_best(st: dict[str, Any], value: float, trained: nn.Module,
                  grid_size: int | None) -> None:
        """Store ``trained``'s state (model and learned coefficients) in ``st["best"]`` when
        ``value`` is the lowest so far."""
        best = st.get("best")
        if not math.isfinite(value) or (best is not None and value >= best["val_data"]):
            return
        st["best"] = {"val_data": value, "step": st["step"], "grid_size": grid_size,
                      "state": {k: v.detach().cpu().clone()
                                for k, v in trained.state_dict().items()}}
