"""Loss balancing: term weights (fixed or by gradient norms), residual-based attention (RBA)
point weights, and causal time weights.

Per step the loss is

    L = sum_t w_t * L_t,     L_t = mean_i (a_i r_t,i)^2        (a_i: RBA weights, 1 if off)

and for time-dependent problems with causal training the residual term is replaced by

    L_residual = (1/S) sum_s c_s L_s,   c_s = exp(-eps * sum_{q<s} L_q)   (c detached)

over ``S`` time slabs (Wang, Sankaran, Perdikaris 2022). All weights are held fixed during a
step (an L-BFGS step evaluates the loss several times) and updated after it from the
residuals of its first evaluation, so a step is a deterministic function of the state.

Term weights, ``scheme``:
  fixed      w_t = the problem's weight (or train.loss_weights).
  grad_norm  every ``every`` steps, g_t = ||grad_theta (w0_t L_t)||, lambda_hat_t =
             (sum_k g_k) / g_t, lambda_t <- alpha lambda_t + (1 - alpha) lambda_hat_t,
             w_t = w0_t lambda_t (Wang, Teng, Perdikaris 2021, in the form of JAX-PI): a term
             whose gradient is small relative to the others gets a larger weight. Terms of
             weight 0 and terms whose gradient is below 1e-8 of the total (satisfied exactly,
             e.g. by an embedding) keep their weight.
RBA (Anagnostopoulos et al. 2024): a_i <- gamma a_i + eta |r_i| / max_j |r_j| on the
residual points, starting from 1; the weights are reset when the points change.
Causal: ``eps`` walks through ``eps_schedule``, moving on once min_s c_s > ``threshold``.

Data-parallel runs (``comm`` with ``W`` ranks, each holding equal shards of the points):
slab sums and counts, RBA's ``max_j |r_j|`` and the grad-norm gradients are reduced over
the ranks, so every rank holds the weights a single process would compute on the union of
the shards; the causal loss of rank ``r`` is ``(W/S) sum_s c_s T_s,r / n_s`` (``T_s,r``:
its slab sum, ``n_s``: the global slab count), whose average over the ranks is the loss
above. RBA point weights stay with their points (local).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from kanpde.train.config import CausalConfig, RBAConfig, WeightingConfig
from kanpde.train.distributed import Comm

NEGLIGIBLE = 1e-8  # gradient norms below this fraction of the total are rounding noise


class LossBalancer:
    """Holds and updates the term weights, RBA point weights and causal slab weights."""

    def __init__(
        self,
        base_weights: dict[str, float],
        weighting: WeightingConfig,
        rba: RBAConfig,
        causal: CausalConfig,
        time_axis: int | None,
        time_range: tuple[float, float] | None,
        comm=None,
    ) -> None:

        self.comm = comm if comm is not None else Comm()
        self.base = dict(base_weights)
        self.lam = {t: 1.0 for t in base_weights}
        self.weighting = weighting
        self.rba = rba
        self.causal = causal
        if causal.enabled and time_axis is None:
            raise ValueError(
                "train.causal.enabled: causal training needs a time-dependent problem "
                "(a domain with a 't' coordinate)"
            )
        self.time_axis = time_axis
        self.time_range = time_range
        self.rba_weights: Tensor | None = None
        self.eps_index = 0
        self.last_causal_min = float("nan")

    # ----------------------------------------------------------------- weights
    def weights(self) -> dict[str, float]:
        return {t: self.base[t] * self.lam[t] for t in self.base}

    @property
    def eps(self) -> float:
        return float(self.causal.eps_schedule[self.eps_index])

    def reset_points(self) -> None:
        """The residual points changed: RBA weights start again from 1."""
        self.rba_weights = None

    # ------------------------------------------------------------------- losses
    def term_losses(self, pointwise: dict[str, Tensor], x_res: Tensor) -> dict[str, Tensor]:
        """Scalar loss of each term from pointwise residuals ``{term: (M, k)}``."""
        out: dict[str, Tensor] = {}
        for term, r in pointwise.items():
            if term == "residual":
                if self.rba.enabled:
                    a = self._rba(r)
                    r = r * a.unsqueeze(1)
                sq = (r**2).mean(dim=1)  # (M,)
                out[term] = self._causal(sq, x_res) if self.causal.enabled else sq.mean()
            else:
                out[term] = (r**2).mean()
        return out

    def row_scales(self, pointwise: dict[str, Tensor], x_res: Tensor) -> dict[str, Tensor]:
        """Per-row factors ``s_t`` ``(M_t,)`` of the Gauss-Newton residual vector: with the
        term weights, RBA and causal weights of this step held fixed,

            sum_t w_t L_t = sum_{t, i, k} (s_t[i] r_t[i, k])^2,

        ``s_t[i] = sqrt(w_t / (M_t K_t))`` (times ``a_i`` on the residual with RBA); with
        causal training ``s[i] = a_i sqrt(w c_s(i) / (S n_s(i) K))`` (``n_s`` the global slab
        count, times the world size ``W`` on a rank of a data-parallel run, whose loss is the
        ranks' average). ``pointwise`` ``{term: (M, K)}`` (detached)."""
        w = self.weights()
        out: dict[str, Tensor] = {}
        for term, r in pointwise.items():
            r = r.detach()
            m, k = r.shape
            if term == "residual" and (self.rba.enabled or self.causal.enabled):
                a = self._rba(r) if self.rba.enabled else torch.ones_like(r[:, 0])
                if self.causal.enabled:
                    sq = ((r * a.unsqueeze(1)) ** 2).mean(dim=1)
                    _, g_total, count = self._slab_sums(sq, x_res)
                    den = count.clamp(min=1)
                    c = self.causal_weights(g_total / den)
                    idx = self.slab_index(x_res)
                    fac = w[term] * c[idx] / (self.causal.n_slabs * den[idx] * k)
                    if self.comm.distributed:
                        fac = fac * self.comm.world_size
                else:
                    fac = torch.full_like(a, w[term] / (m * k))
                out[term] = a * fac.sqrt()
            else:
                out[term] = torch.full((m,), math.sqrt(w[term] / (m * k)), dtype=r.dtype,
                                       device=r.device)
        return out

    def _rba(self, r: Tensor) -> Tensor:
        if self.rba_weights is None or self.rba_weights.shape[0] != r.shape[0]:
            self.rba_weights = torch.ones(r.shape[0], dtype=r.dtype, device=r.device)
        return self.rba_weights.to(r)

    def slab_index(self, x_res: Tensor) -> Tensor:
        """Slab of each residual point by its time coordinate: ``(M,)`` in ``[0, S)``."""
        t0, t1 = self.time_range
        t = (x_res[:, self.time_axis] - t0) / (t1 - t0)
        return (t * self.causal.n_slabs).long().clamp(0, self.causal.n_slabs - 1)

    def _slab_sums(self, sq: Tensor, x_res: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Local slab sums ``(S,)`` (differentiable), global slab sums and counts ``(S,)``
        (detached, reduced over the ranks)."""
        idx = self.slab_index(x_res)
        s = self.causal.n_slabs
        total = torch.zeros(s, dtype=sq.dtype, device=sq.device).index_add(0, idx, sq)
        count = torch.zeros(s, dtype=sq.dtype, device=sq.device).index_add(
            0, idx, torch.ones_like(sq)
        )
        if not self.comm.distributed:
            return total, total.detach(), count
        both = self.comm.all_reduce(torch.stack([total.detach(), count]), "sum")
        return total, both[0], both[1]

    def slab_losses(self, sq: Tensor, x_res: Tensor) -> Tensor:
        """Mean square residual in each time slab ``(S,)`` over all ranks (empty slabs: 0);
        differentiable in a single process, detached in a distributed one."""
        total, g_total, count = self._slab_sums(sq, x_res)
        return (total if not self.comm.distributed else g_total) / count.clamp(min=1)

    def causal_weights(self, slab: Tensor) -> Tensor:
        """``c_s = exp(-eps sum_{q<s} L_q)`` (detached) for slab losses ``(S,)``."""
        cum = torch.cumsum(slab.detach(), 0) - slab.detach()
        return torch.exp(-self.eps * cum)

    def _causal(self, sq: Tensor, x_res: Tensor) -> Tensor:
        total, g_total, count = self._slab_sums(sq, x_res)
        den = count.clamp(min=1)
        c = self.causal_weights(g_total / den)
        if self.comm.distributed:  # this rank's share: the average over ranks is the loss
            total = total * self.comm.world_size
        return (c * (total / den)).mean()

    # ------------------------------------------------------------------ updates
    def needs_gradients(self, step: int) -> bool:
        w = self.weighting
        return w.scheme == "grad_norm" and step % w.every == 0

    def update_grad_norm(self, term_losses: dict[str, Tensor], params: list[Tensor]) -> None:
        """One learning-rate-annealing update from the graph of ``term_losses``."""
        norms = {}
        for t, loss in term_losses.items():
            grads = torch.autograd.grad(
                self.base[t] * loss, params, retain_graph=True, allow_unused=True
            )
            grads = [g.detach() for g in grads if g is not None]
            if self.comm.distributed and grads:  # the gradient of the loss over all ranks
                flat = self.comm.all_reduce(torch.cat([g.reshape(-1) for g in grads]), "mean")
                grads = [flat]
            sq = sum(float((g**2).sum()) for g in grads)
            norms[t] = math.sqrt(sq)
        active = {t: g for t, g in norms.items() if self.base[t] > 0 and math.isfinite(g)}
        total = sum(active.values())
        a = self.weighting.alpha
        for t, g in active.items():
            # a term satisfied exactly (e.g. periodicity through an embedding) has a zero
            # gradient up to rounding: its weight is left alone instead of exploding
            if g > NEGLIGIBLE * total:
                self.lam[t] = a * self.lam[t] + (1 - a) * (total / g)

    def after_step(self, pointwise: dict[str, Tensor], x_res: Tensor) -> None:
        """RBA and causal-schedule updates from the step's (detached) residuals."""
        r = pointwise.get("residual")
        if r is None:
            return
        r = r.detach()
        if self.rba.enabled:
            mag = r.abs().mean(dim=1)
            a = self._rba(r)
            top = self.comm.all_reduce(mag.max(), "max")  # max over all ranks' points
            self.rba_weights = self.rba.gamma * a + self.rba.eta * mag / top.clamp(
                min=torch.finfo(mag.dtype).tiny
            )
        if self.causal.enabled:
            sq = (r**2).mean(dim=1)
            if self.rba.enabled:
                sq = sq * self.rba_weights**2
            c = self.causal_weights(self.slab_losses(sq, x_res).detach())
            self.last_causal_min = float(c.min())
            last = len(self.causal.eps_schedule) - 1
            if self.last_causal_min > self.causal.threshold and self.eps_index < last:
                self.eps_index += 1

    # ------------------------------------------------------------------ logging
    def log_row(self) -> dict[str, float]:
        row = {f"weight_{t}": w for t, w in self.weights().items()}
        if self.rba.enabled and self.rba_weights is not None:
            a = self.rba_weights  # equal shards: the mean of the ranks' means
            row["rba_mean"] = float(self.comm.all_reduce(a.mean(), "mean"))
            row["rba_max"] = float(self.comm.all_reduce(a.max(), "max"))
        if self.causal.enabled:
            row["causal_eps"] = self.eps
            row["causal_min_weight"] = self.last_causal_min
        return row

    # -------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "lam": dict(self.lam),
            "rba": None if self.rba_weights is None else self.rba_weights.detach().cpu(),
            "eps_index": self.eps_index,
            "causal_min": self.last_causal_min,
        }

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        self.lam = dict(state["lam"])
        self.rba_weights = None if state["rba"] is None else state["rba"].to(device)
        self.eps_index = int(state["eps_index"])
        self.last_causal_min = float(state["causal_min"])
