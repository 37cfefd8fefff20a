"""The training loop: optimizer phases, grid schedule, resampling, NaN guard, checkpoints.

Loss (per step): ``L = sum_t w_t * mean(r_t^2)`` over the problem's terms ``t`` (the PDE
residual and each condition), with ``w_t`` the problem's loss weights overridden by
``train.loss_weights`` (plus the KAN sparsity penalty when ``train.sparsity`` is on). Each
phase runs its optimizer for its number of steps; the global
step counts across phases. Evaluation on the test set every ``eval_every`` steps fills the
history; a checkpoint every ``checkpoint_every`` steps (and at the end, or on SIGTERM) lets
``resume=True`` continue to the same final state as an uninterrupted run.

Data-parallel (``comm`` with several ranks, :mod:`kanpde.train.distributed`): each rank
holds its shards of the points; losses and gradients are averaged over the ranks, the grid
is refit on the gathered points, branch decisions are agreed, and only rank 0 evaluates,
logs progress and writes checkpoints (which hold every shard's points).
"""

from __future__ import annotations

import copy
import logging
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from kanpde.models.backbone import grid_size_of, kan_backbone
from kanpde.models.compiled import CompiledModel
from kanpde.models.kan_layer import KANLayer
from kanpde.native import native_status
from kanpde.train import distributed
from kanpde.train.checkpoint import load_checkpoint, save_checkpoint
from kanpde.train.collocation import Collocation
from kanpde.train.config import ConfigError, TrainConfig
from kanpde.train.evaluation import TestSet, evaluate
from kanpde.train.gauss_newton import GaussNewton
from kanpde.train.least_squares import LeastSquaresStep
from kanpde.train.optim import make_optimizer, phase_base_lr, scheduled_lr, set_lr
from kanpde.train.sparsity import sparsity_penalty
from kanpde.train.weighting import LossBalancer

log = logging.getLogger("kanpde.train")

CHECKPOINT_NAME = "checkpoint.pt"


@dataclass
class TrainResult:
    """What a finished (or stopped) run leaves: status, history, final metrics, prediction."""

    status: str  # "completed" | "diverged" | "interrupted"
    message: str
    history: dict[str, np.ndarray]
    final: dict[str, float]
    u_pred: np.ndarray
    test: TestSet | None  # None on ranks other than 0 of a data-parallel run
    steps: int
    wall_time_s: float
    train_time_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def _has_grid(model: torch.nn.Module) -> bool:
    """Whether the model has a spline grid that can be extended and updated."""
    return bool(getattr(model, "supports_grid_updates", False))


class _Stop:
    """Set by SIGTERM/SIGINT: the loop checkpoints and ends with status "interrupted"."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Stop:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:  # noqa: ARG002
        self.requested = True

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


class Trainer:
    """Trains ``model`` (physical coordinates -> solution) on ``problem``.

    Args:
        problem: a :class:`kanpde.pde.Problem`.
        model: module mapping ``(N, dim_in)`` physical coordinates to ``(N, dim_out)``.
        sampler: a collocation sampler (``kanpde.pde.make_sampler``).
        config: the validated :class:`TrainConfig`.
        seed: seeds the collocation points (the model is seeded by its constructor).
        engine: derivative engine, "auto" | "jets" | "autograd".
        run_dir: where checkpoints go (None: no checkpoints, no resume).
        comm: the ranks of a data-parallel run (default: the initialised process group,
            else a single process).
    """

    def __init__(
        self,
        problem,
        model: torch.nn.Module,
        sampler,
        config: TrainConfig,
        *,
        seed: int = 0,
        engine: str = "auto",
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float64,
        run_dir: Path | None = None,
        comm: distributed.Comm | None = None,
    ) -> None:
        self.comm = comm if comm is not None else distributed.current()
        self.n_shards = distributed.resolve_shards(config.shards, self.comm.world_size)
        self.problem = problem
        self.device = torch.device(device)
        self.dtype = dtype
        self.model = model.to(self.device, self.dtype)
        self.sampler = sampler
        self.cfg = config
        self.seed = int(seed)
        self.engine = engine
        # the loss runs through the compiled view; evaluation, RAD and checkpoints use the model
        self.net = CompiledModel(self.model) if config.compile else self.model
        kan_layers = [m for m in self.model.modules() if isinstance(m, KANLayer)]
        if kan_layers and self.device.type == "cpu" and self.comm.is_main:
            log.info("native KAN pass (kanpde.native): %s", native_status())
        if config.compile and any(m.contraction_mode() == "fused" for m in kan_layers):
            log.warning(
                "train.compile=true: the compiled step traces the PyTorch KAN contractions, "
                "not the native fused pass (which cannot be traced); on a CPU with the "
                "native kernels that is slower (2.4x-3.7x per step measured, "
                "results/benchmarks/jets.txt): consider train.compile=false"
            )
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._last_pointwise: dict[str, torch.Tensor] = {}
        unknown = set(config.loss_weights) - set(problem.terms)
        if unknown:
            raise ValueError(
                f"train.loss_weights: unknown term(s) {sorted(unknown)}; "
                f"this problem's terms are {list(problem.terms)}"
            )
        weights = {t: float(problem.loss_weights.get(t, 1.0)) for t in problem.terms}
        weights.update({k: float(v) for k, v in config.loss_weights.items()})
        domain = problem.domain
        t_name = getattr(domain, "time_name", None)
        t_axis = list(problem.names).index(t_name) if t_name else None
        t_range = None if t_axis is None else (float(domain.lo[t_axis]), float(domain.hi[t_axis]))
        self.balancer = LossBalancer(
            weights, config.weighting, config.rba, config.causal, t_axis, t_range, self.comm
        )
        self.comm.broadcast_module(self.model)  # replicas start equal
        if config.sparsity.active:
            try:
                kan_backbone(self.model)
            except ValueError as exc:
                raise ConfigError(f"train.sparsity: {exc}") from exc
        if (config.grid.extend_at or config.grid.update_every) and not _has_grid(self.model):
            log.info("model has no KAN grid: the grid schedule is ignored")
        for i, phase in enumerate(config.phases):
            if phase.optimizer == "gauss_newton" and phase.varpro and not problem.linear:
                raise ConfigError(
                    f"train.phases[{i}].varpro: variable projection needs a problem whose "
                    f"residuals are affine in the network output; {type(problem).__name__} "
                    "is not (set varpro=false)"
                )
        # Gauss-Newton phases train the model itself (not a compiled view)
        self._least_squares = LeastSquaresStep(problem, self.model, self.balancer, engine,
                                               self.comm)

    # ----------------------------------------------------------------- loss
    @property
    def weights(self) -> dict[str, float]:
        """The current term weights (fixed, or adapted by ``train.weighting``)."""
        return self.balancer.weights()

    def loss(
        self, points: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Weighted total loss, each term's loss (RBA/causal weighted where enabled) and the
        pointwise residuals ``{term: (M, k)}``."""
        pointwise = self.problem.pointwise(self.net, points, engine=self.engine)
        terms = self.balancer.term_losses(pointwise, points["residual"])
        w = self.weights
        total = sum(w[t] * v for t, v in terms.items())
        sp = self.cfg.sparsity
        if sp.active:
            total = total + sparsity_penalty(self.model, points["residual"], sp.l1, sp.entropy)
        return total, terms, pointwise

    # ------------------------------------------------------------ the loop
    def fit(self) -> TrainResult:
        cfg = self.cfg
        t_wall = time.perf_counter()
        # rank 0 evaluates (the replicas are identical); others skip the reference solution
        test = TestSet.from_problem(self.problem, self.device, self.dtype) \
            if self.comm.is_main else None
        colloc = Collocation(
            self.problem, self.sampler, cfg.n_interior, cfg.n_boundary, cfg.resample,
            self.seed, self.device, self.dtype,
            self.n_shards, distributed.local_shards(self.n_shards, self.comm),
        )
        st: dict[str, Any] = {
            "step": 0, "phase": 0, "local": 0, "lr_scale": 1.0, "rollbacks": 0,
            "train_time": 0.0, "history": {}, "last_terms": {}, "last_loss": float("nan"),
            "ref_loss": None,
        }
        optimizer_state = None
        ckpt_path = self.run_dir / CHECKPOINT_NAME if self.run_dir is not None else None
        if cfg.resume:
            if ckpt_path is None or not ckpt_path.is_file():
                raise ConfigError(
                    f"train.resume: true but there is no checkpoint at {ckpt_path}; run "
                    "without resume, or point hydra.run.dir at the run directory to continue"
                )
            ck = load_checkpoint(ckpt_path)
            if ck.get("n_shards", 1) != self.n_shards:
                raise ConfigError(
                    f"train.shards: the checkpoint {ckpt_path} holds {ck.get('n_shards', 1)} "
                    f"collocation shards, this run uses {self.n_shards}; resume with "
                    f"train.shards={ck.get('n_shards', 1)} (a multiple of the process count)"
                )
            self._restore_model(ck["model"], ck["grid_size"])
            colloc.load_global_state(ck["points"])
            bal = dict(ck["balancer"])
            if bal["rba"] is not None:
                bal["rba"] = distributed.shard_slice(bal["rba"], self.n_shards, colloc.shards)
            self.balancer.load_state_dict(bal, self.device)
            st.update(ck["state"])
            optimizer_state = ck["optimizer"]
            if self.comm.is_main:
                log.info("resumed from %s at step %d", ckpt_path, st["step"])

        phases = cfg.phases
        total = cfg.total_steps
        status, message = "completed", ""
        bar = tqdm(total=total, initial=st["step"],
                   disable=not (cfg.progress and self.comm.is_main),
                   dynamic_ncols=True, mininterval=1.0, desc="kanpde")
        with _Stop() as stop:
            if st["step"] == 0 and not st["history"]:
                st["last_loss"], st["last_terms"] = self._initial_loss(colloc.points)
                self._record(st, test, phase_base_lr(phases[0], cfg.lr))
            while st["phase"] < len(phases):
                phase = phases[st["phase"]]
                opt = self._new_optimizer(phase, st)
                if optimizer_state is not None:
                    opt.load_state_dict(optimizer_state)
                    optimizer_state = None
                good = self._snapshot(opt)
                while st["local"] < phase.steps:
                    self._agree(stop, st)
                    if stop.requested or self._out_of_time(st):
                        break
                    step = st["step"]
                    changed = self._grid_events(step, colloc)
                    if colloc.due(step):
                        colloc.refresh(step, self.model, self.engine)
                        self.balancer.reset_points()
                    if self.balancer.needs_gradients(step):
                        _, terms_graph, _ = self.loss(colloc.points)
                        self.balancer.update_grad_norm(terms_graph, list(self.model.parameters()))
                        del terms_graph
                    if changed:
                        opt = self._new_optimizer(phase, st)
                        good = self._snapshot(opt)
                    lr = scheduled_lr(phase, cfg.lr, st["local"]) * st["lr_scale"]
                    set_lr(opt, lr)
                    t0 = time.perf_counter()
                    loss, terms = self._step(opt, phase.optimizer, colloc.points)
                    st["train_time"] += time.perf_counter() - t0
                    if not self._healthy(loss, st):
                        st["rollbacks"] += 1
                        self._restore(good, opt)
                        st["lr_scale"] *= cfg.rollback_lr_factor
                        if st["rollbacks"] > cfg.max_rollbacks:
                            status = "diverged"
                            message = (
                                f"training diverged at step {step}: loss {loss:.3e} after "
                                f"{cfg.max_rollbacks} rollbacks with the learning rate lowered "
                                f"to {lr * cfg.rollback_lr_factor:.3e} (phase "
                                f"{st['phase']}, {phase.optimizer}); lower train.lr"
                            )
                            if self.comm.is_main:
                                log.error(message)
                            break
                        (log.warning if self.comm.is_main else log.debug)(
                            "non-finite or exploding loss (%.3e) at step %d: rolled back, "
                            "learning rate x%.2f (rollback %d of %d)",
                            loss, step, cfg.rollback_lr_factor, st["rollbacks"], cfg.max_rollbacks,
                        )
                        continue
                    self.balancer.after_step(self._last_pointwise, colloc.points["residual"])
                    good = self._snapshot(opt)
                    if st["ref_loss"] is None:
                        st["ref_loss"] = loss
                    st["last_loss"], st["last_terms"] = loss, terms
                    st["step"] += 1
                    st["local"] += 1
                    bar.update(1)
                    last = st["step"] == total
                    if st["step"] % cfg.eval_every == 0 or last:
                        metrics = self._record(st, test, lr)
                        if metrics:
                            bar.set_postfix(loss=f"{loss:.2e}", rel_l2=f"{metrics['rel_l2']:.2e}",
                                            G=grid_size_of(self.model), refresh=False)
                    if ckpt_path is not None and (st["step"] % cfg.checkpoint_every == 0 or last):
                        self._checkpoint(ckpt_path, colloc, opt, st)
                if status == "diverged":
                    break
                self._agree(stop, st)
                if self._out_of_time(st):
                    message = (
                        f"training-time budget train.max_time_s={cfg.max_time_s:g} s reached at "
                        f"step {st['step']} of {total}"
                    )
                    log.info(message)
                    if ckpt_path is not None:
                        self._checkpoint(ckpt_path, colloc, opt, st)
                    break
                if stop.requested:
                    status = "interrupted"
                    message = f"interrupted by a signal at step {st['step']} of {total}"
                    log.warning("%s; checkpoint written, resume with train.resume=true", message)
                    if ckpt_path is not None:
                        self._checkpoint(ckpt_path, colloc, opt, st)
                    break
                st["phase"] += 1
                st["local"] = 0
        bar.close()
        if not st["history"] or st["history"]["step"][-1] != st["step"]:
            self._record(st, test, None)
        if self.comm.is_main:
            metrics, u_pred = evaluate(self.model, self.problem, test, self.engine, cfg.eval_batch)
        else:  # rank 0 evaluates; the replicas are identical
            metrics, u_pred = {}, np.empty((0, self.problem.dim_out))
        history = {k: np.asarray(v) for k, v in st["history"].items()}
        return TrainResult(
            status=status, message=message, history=history, final=metrics, u_pred=u_pred,
            test=test, steps=st["step"], wall_time_s=time.perf_counter() - t_wall,
            train_time_s=st["train_time"],
        )

    # ------------------------------------------------------------- helpers
    def _initial_loss(self, points) -> tuple[float, dict[str, float]]:
        """The loss and term losses before the first step (the history's first row)."""
        loss, terms, _ = self.loss(points)
        values = torch.stack([loss.detach(), *(v.detach() for v in terms.values())])
        if self.comm.distributed:
            values = self.comm.all_reduce(values, "mean")
        return float(values[0]), {t: float(v) for t, v in zip(terms, values[1:], strict=True)}

    def _out_of_time(self, st) -> bool:
        return self.cfg.max_time_s > 0 and st["train_time"] >= self.cfg.max_time_s

    def _agree(self, stop: _Stop, st) -> None:
        """All ranks take the same branch: a stop signal on any rank stops every rank, and
        the training time is the slowest rank's (the time budget decision)."""
        if not self.comm.distributed:
            return
        flags = torch.tensor([float(stop.requested), st["train_time"]], dtype=torch.float64,
                             device=self.device)
        flags = self.comm.all_reduce(flags, "max")
        stop.requested = bool(flags[0] > 0)
        st["train_time"] = float(flags[1])

    def _new_optimizer(self, phase, st) -> torch.optim.Optimizer | GaussNewton:
        lr = scheduled_lr(phase, self.cfg.lr, st["local"]) * st["lr_scale"]
        return make_optimizer(phase, self.model.parameters(), lr, self.comm)

    def _step(self, opt, kind: str, points) -> tuple[float, dict[str, float]]:
        if kind == "gauss_newton":
            loss, terms, self._last_pointwise = self._least_squares.step(opt, points)
            return loss, terms
        record: dict[str, Any] = {}

        def closure():
            opt.zero_grad(set_to_none=True)
            loss, terms, pointwise = self.loss(points)
            value = loss
            if self.comm.distributed:  # the loss over all shards: the mean of the ranks'
                both = self.comm.all_reduce(torch.stack([loss.detach(), *terms.values()]), "mean")
                value = both[0]
                terms = dict(zip(terms, both[1:], strict=True))
            if "loss" not in record:
                record["loss"] = float(value.detach())
                record["terms"] = {t: float(v.detach()) for t, v in terms.items()}
                self._last_pointwise = {t: r.detach() for t, r in pointwise.items()}
            if torch.isfinite(value):
                loss.backward()
                for p in self.model.parameters():  # L-BFGS flattens grads with .view(-1)
                    if p.grad is not None and not p.grad.is_contiguous():
                        p.grad = p.grad.contiguous()
                self.comm.average_gradients(list(self.model.parameters()))
            return value

        if kind == "lbfgs":
            opt.step(closure)
        else:
            closure()
            if math.isfinite(record["loss"]):
                opt.step()
        return record["loss"], record["terms"]

    def _healthy(self, loss: float, st) -> bool:
        ok = math.isfinite(loss)
        if ok and st["ref_loss"] is not None and loss > 1e8 * max(st["ref_loss"], 1e-30):
            ok = False
        ok = ok and all(torch.isfinite(p).all() for p in self.model.parameters())
        return self.comm.all_true(ok, self.device)  # the same decision on every rank

    def _snapshot(self, opt) -> dict[str, Any]:
        return {
            "model": copy.deepcopy(self.model.state_dict()),
            "opt": copy.deepcopy(opt.state_dict()),
            "balancer": copy.deepcopy(self.balancer.state_dict()),
        }

    def _restore(self, snap, opt) -> None:
        self.model.load_state_dict(snap["model"])
        opt.load_state_dict(copy.deepcopy(snap["opt"]))
        self.balancer.load_state_dict(copy.deepcopy(snap["balancer"]), self.device)

    def _grid_events(self, step: int, colloc: Collocation) -> bool:
        g = self.cfg.grid
        if not _has_grid(self.model):
            return False
        extend = step in g.extend_at
        update = bool(g.update_every and step > 0 and step % g.update_every == 0)
        if not (extend or update):
            return False
        info = log.info if self.comm.is_main else log.debug
        x = self.comm.all_gather_cat(colloc.points["residual"])  # refit on every shard's points
        with torch.no_grad():
            if extend:
                new = g.sizes[g.extend_at.index(step)]
                old = grid_size_of(self.model)
                self.model.extend_grid(new, x)
                info("step %d: grid extended G=%s -> %d", step, old, new)
            else:
                self.model.update_grid(x)
                info("step %d: grid updated from %d samples", step, x.shape[0])
        self.comm.broadcast_module(self.model)  # bitwise equal replicas after the refit
        return True

    def _restore_model(self, state: dict[str, torch.Tensor], grid_size: int | None) -> None:
        if grid_size is not None and grid_size_of(self.model) != grid_size:
            with torch.no_grad():
                self.model.extend_grid(grid_size)
        self.model.load_state_dict(state)
        self.model.to(self.device, self.dtype)

    def _record(self, st, test: TestSet, lr: float | None) -> dict[str, float]:
        metrics: dict[str, float] = {}
        if self.comm.is_main:  # the replicas are identical: rank 0 evaluates
            metrics, _ = evaluate(self.model, self.problem, test, self.engine,
                                  self.cfg.eval_batch)
        row: dict[str, float] = {
            "step": st["step"],
            "time_s": st["train_time"],
            "loss": st["last_loss"],
            "grid_size": grid_size_of(self.model) or 0,
            "lr": float("nan") if lr is None else lr,
            "phase": st["phase"],
        }
        for t in self.problem.terms:
            row[f"loss_{t}"] = st["last_terms"].get(t, float("nan"))
        row.update(self.balancer.log_row())
        row.update(metrics)
        hist = st["history"]
        n = len(hist.get("step", []))
        for key, val in row.items():
            hist.setdefault(key, [float("nan")] * n).append(val)
        if self.comm.is_main:
            log.info(
                "step %d  loss %.3e  rel_l2 %.3e  G=%s", st["step"], st["last_loss"],
                metrics["rel_l2"], row["grid_size"],
            )
        return metrics

    def _checkpoint(self, path: Path, colloc: Collocation, opt, st) -> None:
        """Rank 0 writes (atomically) the model, optimizer and every shard's points."""
        points = colloc.global_state(self.comm)  # collective: all ranks take part
        balancer = self.balancer.state_dict()
        if balancer["rba"] is not None:
            balancer["rba"] = self.comm.all_gather_cat(balancer["rba"].to(self.device)).cpu()
        if not self.comm.is_main:
            return
        save_checkpoint(
            path,
            {
                "model": self.model.state_dict(),
                "grid_size": grid_size_of(self.model),
                "optimizer": opt.state_dict(),
                "points": points,
                "n_shards": self.n_shards,
                "balancer": balancer,
                "state": copy.deepcopy(st),
            },
        )
