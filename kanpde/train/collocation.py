"""Collocation points of a run: drawn from a seed, refreshed or adapted during training."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from kanpde.train.config import Resample


def derived_seed(seed: int, *keys: int) -> int:
    """A reproducible 32-bit seed from the run seed and further integers (e.g. the step)."""
    return int(np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1)[0])


class Collocation:
    """The current point sets (``{"residual": (N, d), <condition>: (M, d), ...}``).

    Points are drawn by ``problem.sample_points(sampler, n_interior, n_boundary, seed)``;
    a refresh at step ``s`` uses the seed derived from ``(seed, s)``, so a resumed run draws
    exactly the points an uninterrupted one would.
    """

    def __init__(
        self,
        problem,
        sampler,
        n_interior: int,
        n_boundary: int,
        policy: Resample,
        seed: int,
        device: torch.device,
        dtype: torch.dtype,
    ) -> None:
        self.problem = problem
        self.sampler = sampler
        self.n_interior = n_interior
        self.n_boundary = n_boundary
        self.policy = policy
        self.seed = seed
        self.device = device
        self.dtype = dtype
        self.points: dict[str, Tensor] = self._draw(n_interior, derived_seed(seed, 0))

    def _draw(self, n_interior: int, seed: int) -> dict[str, Tensor]:
        pts = self.problem.sample_points(self.sampler, n_interior, self.n_boundary, seed)
        return {k: torch.as_tensor(v).to(self.device, self.dtype) for k, v in pts.items()}

    def due(self, step: int) -> bool:
        """Whether the policy refreshes the points before global step ``step``."""
        return self.policy.policy != "fixed" and step > 0 and step % self.policy.every == 0

    def refresh(self, step: int, model: torch.nn.Module, engine: str) -> None:
        """Draw new points (policy "every") or adapt them to the residual (policy "rad")."""
        seed = derived_seed(self.seed, step)
        if self.policy.policy == "every":
            self.points = self._draw(self.n_interior, seed)
            return
        from kanpde.pde import rad_resample

        cand = self._draw(self.policy.n_candidates, seed)
        res = self.pointwise_residual(model, cand["residual"], engine)
        chosen = rad_resample(
            cand["residual"].detach().cpu().numpy(),
            res,
            self.n_interior,
            k=self.policy.k,
            c=self.policy.c,
            seed=derived_seed(self.seed, step, 1),
        )
        cand["residual"] = torch.as_tensor(chosen).to(self.device, self.dtype)
        self.points = cand

    def pointwise_residual(
        self, model: torch.nn.Module, x: Tensor, engine: str, batch: int = 8192
    ) -> np.ndarray:
        """``|r(x)|`` summed over equations, in batches, as a numpy array ``(N,)``."""
        out = []
        for start in range(0, x.shape[0], batch):
            xb = x[start : start + batch]
            r = self.problem.pointwise(model, {"residual": xb}, engine=engine)["residual"]
            out.append(r.detach().abs().reshape(r.shape[0], -1).sum(dim=1).cpu().numpy())
        return np.concatenate(out)

    def state(self) -> dict[str, Tensor]:
        return {k: v.detach().cpu() for k, v in self.points.items()}

    def load_state(self, points: dict[str, Tensor]) -> None:
        self.points = {k: v.to(self.device, self.dtype) for k, v in points.items()}
