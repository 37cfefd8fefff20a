"""Collocation points of a run: drawn from a seed, refreshed or adapted during training.

Sharding (data-parallel runs, see :mod:`kanpde.train.distributed`): the point set of every
term is the union of ``n_shards`` equal shards; shard ``k`` holds ``n_interior / S``
interior and ``n_boundary / S`` condition points drawn from :func:`shard_seed`, and RAD
picks each shard's ``n_interior / S`` points among its own ``n_candidates / S`` candidates.
A process holds the concatenation of its shards (all of them for a single process), so the
union, and hence the loss, is the same whatever the number of processes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from kanpde.pde import rad_resample
from kanpde.train.config import ConfigError, Resample
from kanpde.train.distributed import shard_slice

SHARD_KEY = 0x5348  # keeps shard seeds apart from the single-set ones


def derived_seed(seed: int, *keys: int) -> int:
    """A reproducible 32-bit seed from the run seed and further integers (e.g. the step)."""
    return int(np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1)[0])


def shard_seed(seed: int, step: int, shard: int, n_shards: int, *keys: int) -> int:
    """Seed of shard ``shard`` of ``n_shards`` for the draw at ``step``.

    One shard (the whole set) keeps the unsharded seeds ``derived_seed(seed, step, *keys)``,
    so ``n_shards = 1`` reproduces runs made before sharding existed."""
    if n_shards == 1:
        return derived_seed(seed, step, *keys)
    return derived_seed(seed, step, *keys, SHARD_KEY, n_shards, shard)


class Collocation:
    """The current point sets (``{"residual": (N, d), <condition>: (M, d), ...}``).

    Points are drawn by ``problem.sample_points(sampler, n_interior, n_boundary, seed)``
    per shard; a refresh at step ``s`` uses the seeds derived from ``(seed, s)``, so a
    resumed run draws exactly the points an uninterrupted one would. ``shards`` are the
    indices (contiguous) of the ``n_shards`` shards held here; the counts must divide.
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
        n_shards: int = 1,
        shards: Sequence[int] | None = None,
    ) -> None:
        self.n_shards = int(n_shards)
        self.shards = list(range(self.n_shards)) if shards is None else list(shards)
        _check_shards(self.n_shards, self.shards, n_interior, n_boundary, policy, sampler)
        self.problem = problem
        self.sampler = sampler
        self.n_interior = n_interior
        self.n_boundary = n_boundary
        self.policy = policy
        self.seed = seed
        self.device = device
        self.dtype = dtype
        self.points: dict[str, Tensor] = self._draw(n_interior, 0)

    def _draw_shard(self, n_interior: int, seed: int) -> dict[str, Tensor]:
        pts = self.problem.sample_points(
            self.sampler, n_interior, self.n_boundary // self.n_shards, seed
        )
        return {k: torch.as_tensor(v).to(self.device, self.dtype) for k, v in pts.items()}

    def _draw(self, n_interior: int, step: int) -> dict[str, Tensor]:
        """The local shards' points for the draw at ``step``, concatenated per term;
        ``n_interior`` is the total over all shards."""
        parts = [
            self._draw_shard(n_interior // self.n_shards,
                             shard_seed(self.seed, step, k, self.n_shards))
            for k in self.shards
        ]
        return {t: torch.cat([p[t] for p in parts]) for t in parts[0]}

    def due(self, step: int) -> bool:
        """Whether the policy refreshes the points before global step ``step``."""
        return self.policy.policy != "fixed" and step > 0 and step % self.policy.every == 0

    def refresh(self, step: int, model: torch.nn.Module, engine: str) -> str:
        """Draw new points (policy "every") or adapt them to the residual (policy "rad");
        returns what was done, for the log."""
        if self.policy.policy == "every":
            self.points = self._draw(self.n_interior, step)
            return f"{self.n_interior} interior points and every other term's points drawn afresh"

        cand = self._draw(self.policy.n_candidates, step)
        res = self.pointwise_residual(model, cand["residual"], engine)
        x = cand["residual"].detach().cpu().numpy()
        m = x.shape[0] // len(self.shards)  # candidates per shard
        chosen = [
            rad_resample(
                x[i * m : (i + 1) * m],
                res[i * m : (i + 1) * m],
                self.n_interior // self.n_shards,
                k=self.policy.k,
                c=self.policy.c,
                seed=shard_seed(self.seed, step, shard, self.n_shards, 1),
            )
            for i, shard in enumerate(self.shards)
        ]
        cand["residual"] = torch.as_tensor(np.concatenate(chosen)).to(self.device, self.dtype)
        self.points = cand
        return (f"{self.n_interior} interior points resampled by residual (RAD) from "
                f"{self.policy.n_candidates} candidates, every other term's points drawn afresh")

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

    def global_state(self, comm) -> dict[str, Tensor]:
        """All shards' points (gathered over the ranks of ``comm``, in shard order), on the
        CPU: what a checkpoint stores, whatever the number of processes."""
        return {k: comm.all_gather_cat(v).detach().cpu() for k, v in self.points.items()}

    def load_global_state(self, points: dict[str, Tensor]) -> None:
        """Keep this process's shards of the full point sets ``points`` (:meth:`global_state`)."""

        self.load_state({k: shard_slice(v, self.n_shards, self.shards) for k, v in points.items()})


def _check_shards(
    n_shards: int, shards: list[int], n_interior: int, n_boundary: int, policy: Resample, sampler
) -> None:
    """Equal shards: every count must divide by ``n_shards``; a deterministic sampler would
    give identical shards."""
    if n_shards < 1 or not shards or any(not 0 <= k < n_shards for k in shards):
        raise ValueError(f"shards {shards} are not indices of {n_shards} shards")
    if shards != list(range(shards[0], shards[0] + len(shards))):
        raise ValueError(f"shards {shards} must be contiguous")
    if n_shards == 1:
        return
    counts = {"train.n_interior": n_interior, "train.n_boundary": n_boundary}
    if policy.policy == "rad":
        counts["train.resample.n_candidates"] = policy.n_candidates
    for key, n in counts.items():
        if n % n_shards:
            raise ConfigError(
                f"{key}: {n} points do not split into {n_shards} equal shards (one per "
                f"process, or train.shards); use a multiple of {n_shards}"
            )
    if getattr(sampler, "name", None) == "grid":
        raise ConfigError(
            f"sampler: the grid sampler is deterministic, so its {n_shards} shards would be "
            "the same points; use sobol, halton, lhs or uniform for sharded or distributed runs"
        )
