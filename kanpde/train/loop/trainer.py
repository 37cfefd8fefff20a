"""The training loop: optimizer phases, grid schedule, resampling, NaN guard, checkpoints.

Loss (per step): ``L = sum_t w_t * mean(r_t^2)`` over the problem's terms ``t`` (the PDE
residual and each condition), with ``w_t`` the problem's loss weights overridden by
``train.loss_weights`` (plus the KAN sparsity penalty when ``train.sparsity`` is on). Each
phase runs its optimizer for its number of steps; the global step counts across phases.
Evaluation on the test set every ``eval_every`` steps fills the history (with
``train.validation``, also the misfit of held-out observations, and the run ends with the
parameters where it was lowest: :mod:`.validation`); a checkpoint every
``checkpoint_every`` steps (and at the end, or on SIGTERM) lets ``resume=True`` continue to
the same final state as an uninterrupted run.

The parts of a step live in their own modules: the grid schedule
(:mod:`.grid_events`), resampling (:mod:`~kanpde.train.collocation`), the first-order and
Gauss-Newton steps (:mod:`.first_order`, :mod:`~kanpde.train.gauss_newton.step`), the NaN
guard (:mod:`.guard`), stop signals and the time budget (:mod:`.stopping`), history rows
(:mod:`.history`) and the checkpoint file (:mod:`.checkpoint`); writing and resuming the
checkpoint are the trainer's own methods.

Over 400 lines: one concept, the loop with its checkpoint (what a checkpoint holds is the
trainer's state, so writing and resuming it live with the trainer).

Data-parallel (``comm`` with several ranks, :mod:`kanpde.train.distributed`): each rank
holds its shards of the points; losses and gradients are averaged over the ranks, the grid
is refit on the gathered points, branch decisions are agreed, and only rank 0 evaluates,
logs progress and writes checkpoints (which hold every shard's points).
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from kanpde.models.backbone import grid_size_of
from kanpde.models.compiled import CompiledModel
from kanpde.models.kan.layer import KANLayer
from kanpde.native import native_status
from kanpde.train import distributed
from kanpde.train.collocation import Collocation, derived_seed
from kanpde.train.config import ConfigError, Phase, TrainConfig
from kanpde.train.evaluation import TestSet, evaluate
from kanpde.train.gauss_newton.optimizer import GaussNewton
from kanpde.train.gauss_newton.step import LeastSquaresStep
from kanpde.train.loop.checkpoint import load_checkpoint, save_checkpoint
from kanpde.train.loop.first_order import first_order_step
from kanpde.train.loop.grid_events import apply_grid_events, has_grid
from kanpde.train.loop.guard import Snapshot, healthy
from kanpde.train.loop.history import append_row
from kanpde.train.loop.state import Monitor, Run, TrainResult, initial_state
from kanpde.train.loop.stopping import StopSignal, out_of_time
from kanpde.train.loop.validation import HeldOut, HeldOutPoints, HeldOutSet
from kanpde.train.optim import make_optimizer, phase_base_lr, scheduled_lr, set_lr
from kanpde.train.setup import check_against_problem, make_balancer, term_weights
from kanpde.train.sparsity import sparsity_penalty

SUBSAMPLE_KEY = 0x5342  # keeps Gauss-Newton subsample seeds apart from the point draws
HOLD_KEY = 0x484F  # seeds the split of held-out observations
POINTS_KEY = 0x5650  # with HOLD_KEY, seeds the held-out collocation points

log = logging.getLogger("kanpde.train")

CHECKPOINT_NAME = "checkpoint.pt"


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
        monitor: called with each history row (every evaluation, rank 0); a returned
            message stops the run with status "pruned" (a hyperparameter search's pruner).
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
        monitor: Monitor | None = None,
    ) -> None:
        self.monitor = monitor
        self.comm = comm if comm is not None else distributed.current()
        if monitor is not None and self.comm.distributed:
            raise ValueError("a monitor (hyperparameter search) needs a single-process run")
        self.n_shards = distributed.resolve_shards(config.shards, self.comm.world_size)
        self.problem = problem
        self.device = torch.device(device)
        self.dtype = dtype
        self.model = model.to(self.device, self.dtype)
        # what the optimizers train: the model, and the problem's learned coefficients
        self.coefficients = problem.learned
        self.trained = torch.nn.ModuleDict({"model": self.model})
        if self.coefficients is not None:
            self.trained["coefficients"] = self.coefficients.to(self.device, self.dtype)
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
        check_against_problem(config, problem, self.model)
        # held-out observations (before the balancer and the points see the data terms)
        self.held_out: HeldOutSet | None = None
        if config.validation:
            self.held_out = HeldOut(problem, config.validation, derived_seed(self.seed, HOLD_KEY),
                                    self.device, self.dtype)
        elif config.validation_points:  # held-out collocation points, a draw of their own
            n = config.validation_points
            self.held_out = HeldOutPoints(
                problem, sampler, n, max(1, round(n * config.n_boundary / config.n_interior)),
                derived_seed(self.seed, HOLD_KEY, POINTS_KEY), self.device, self.dtype,
                term_weights(problem, config), engine)
        self.balancer = make_balancer(problem, config, self.comm)
        self.comm.broadcast_module(self.trained)  # replicas start equal
        self.grid = config.grid.resolved(config.total_steps)  # a ladder made explicit
        if (self.grid.extend_at or self.grid.update_every) and not has_grid(self.model):
            log.info("model has no KAN grid: the grid schedule is ignored")
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
        """Train through every phase (or until stopped); evaluate; return the result."""
        cfg = self.cfg
        run = self._start()
        with StopSignal() as stop:
            if run.st["step"] == 0 and not run.st["history"]:
                run.st["last_loss"], run.st["last_terms"] = self._initial_loss(run.colloc.points)
                self._record(run, phase_base_lr(cfg.phases[0], cfg.lr))
            while run.st["phase"] < len(cfg.phases) and run.status == "completed":
                opt = self._run_phase(run, cfg.phases[run.st["phase"]], stop)
                if run.status != "completed" or self._stopped(run, opt, stop):
                    break
                run.st["phase"] += 1
                run.st["local"] = 0
        run.bar.close()
        return self._finish(run)

    def _start(self) -> Run:
        """Points, test set and loop state, from the checkpoint when resuming."""
        cfg, t_wall = self.cfg, time.perf_counter()
        # rank 0 evaluates (the replicas are identical); others skip the reference solution
        test = TestSet.from_problem(self.problem, self.device, self.dtype) \
            if self.comm.is_main else None
        colloc = Collocation(
            self.problem, self.sampler, cfg.n_interior, cfg.n_boundary, cfg.resample,
            self.seed, self.device, self.dtype,
            self.n_shards, distributed.local_shards(self.n_shards, self.comm),
        )
        ckpt = self.run_dir / CHECKPOINT_NAME if self.run_dir is not None else None
        run = Run(colloc, test, ckpt, initial_state(), t_wall=t_wall)
        if cfg.resume:
            self.resume(run)
        run.bar = tqdm(total=cfg.total_steps, initial=run.st["step"],
                       disable=not (cfg.progress and self.comm.is_main),
                       dynamic_ncols=True, mininterval=1.0, desc="kanpde")
        return run

    def _run_phase(self, run: Run, phase: Phase, stop: StopSignal):
        """The steps of one phase (from ``st["local"]``); returns its optimizer."""
        cfg, st, colloc = self.cfg, run.st, run.colloc
        opt = self._new_optimizer(phase, st)
        if run.optimizer_state is not None:
            opt.load_state_dict(run.optimizer_state)
            run.optimizer_state = None
        good = Snapshot(self.trained, opt, self.balancer)
        while st["local"] < phase.steps:
            st["train_time"] = stop.agree(st["train_time"], self.comm, self.device)
            if stop.requested or out_of_time(st["train_time"], cfg.max_time_s):
                break
            step = st["step"]
            changed = apply_grid_events(self.grid, step, self.model, colloc.points["residual"],
                                        self.comm)
            if colloc.due(step):
                done = colloc.refresh(step, self.model, self.engine)
                if self.comm.is_main:
                    log.info("step %d: %s", step, done)
                self.balancer.reset_points()
            if self.balancer.needs_gradients(step):
                _, terms_graph, _ = self.loss(colloc.points)
                self.balancer.update_grad_norm(terms_graph, list(self.model.parameters()))
                del terms_graph
            if changed:
                opt = self._new_optimizer(phase, st)
                good = Snapshot(self.trained, opt, self.balancer)
            lr = scheduled_lr(phase, cfg.lr, st["local"]) * st["lr_scale"]
            set_lr(opt, lr)
            t0 = time.perf_counter()
            loss, terms = self._step(opt, phase.optimizer, colloc.points, step)
            st["train_time"] += time.perf_counter() - t0
            if not healthy(loss, st["ref_loss"], self.trained, self.comm, self.device):
                if self._rollback(run, good, opt, phase, loss, lr):
                    break
                continue
            self.balancer.after_step(self._last_pointwise, colloc.points["residual"])
            good = Snapshot(self.trained, opt, self.balancer)
            self._advance(run, loss, terms, lr, opt)
            if run.status != "completed":  # stopped by the monitor
                break
        return opt

    def _rollback(self, run: Run, good: Snapshot, opt, phase: Phase, loss: float,
                  lr: float) -> bool:
        """Undo a bad step (NaN guard); True when the run is diverged."""
        cfg, st = self.cfg, run.st
        st["rollbacks"] += 1
        good.restore(self.trained, opt, self.balancer, self.device)
        st["lr_scale"] *= cfg.rollback_lr_factor
        if st["rollbacks"] > cfg.max_rollbacks:
            run.status = "diverged"
            run.message = (
                f"training diverged at step {st['step']}: loss {loss:.3e} after "
                f"{cfg.max_rollbacks} rollbacks with the learning rate lowered "
                f"to {lr * cfg.rollback_lr_factor:.3e} (phase "
                f"{st['phase']}, {phase.optimizer}); lower train.lr"
            )
            if self.comm.is_main:
                log.error(run.message)
            return True
        (log.warning if self.comm.is_main else log.debug)(
            "non-finite or exploding loss (%.3e) at step %d: rolled back, "
            "learning rate x%.2f (rollback %d of %d)",
            loss, st["step"], cfg.rollback_lr_factor, st["rollbacks"], cfg.max_rollbacks,
        )
        return False

    def _advance(self, run: Run, loss: float, terms: dict[str, float], lr: float, opt) -> None:
        """Count a good step; evaluate and checkpoint when due."""
        cfg, st = self.cfg, run.st
        if st["ref_loss"] is None:
            st["ref_loss"] = loss
        st["last_loss"], st["last_terms"] = loss, terms
        st["step"] += 1
        st["local"] += 1
        run.bar.update(1)
        last = st["step"] == cfg.total_steps
        if st["step"] % cfg.eval_every == 0 or last:
            metrics = self._record(run, lr)
            if metrics:
                run.bar.set_postfix(loss=f"{loss:.2e}", rel_l2=f"{metrics['rel_l2']:.2e}",
                                    G=grid_size_of(self.model), refresh=False)
        if run.ckpt is not None and (st["step"] % cfg.checkpoint_every == 0 or last):
            self.write_checkpoint(run, opt)

    def _stopped(self, run: Run, opt, stop: StopSignal) -> bool:
        """After a phase: the time budget or a signal ends the run (with a checkpoint)."""
        cfg, st = self.cfg, run.st
        st["train_time"] = stop.agree(st["train_time"], self.comm, self.device)
        if out_of_time(st["train_time"], cfg.max_time_s):
            run.message = (
                f"training-time budget train.max_time_s={cfg.max_time_s:g} s reached at "
                f"step {st['step']} of {cfg.total_steps}"
            )
            log.info(run.message)
        elif stop.requested:
            run.status = "interrupted"
            run.message = f"interrupted by a signal at step {st['step']} of {cfg.total_steps}"
            log.warning("%s; checkpoint written, resume with train.resume=true", run.message)
        else:
            return False
        if run.ckpt is not None:
            self.write_checkpoint(run, opt)
        return True

    def _finish(self, run: Run) -> TrainResult:
        st = run.st
        if not st["history"] or st["history"]["step"][-1] != st["step"]:
            self._record(run, None)
        best = st.get("best")  # kept when a held-out set judges the run
        if best is not None and best["step"] != st["step"]:
            self._match_grid(best["grid_size"])
            self.trained.load_state_dict(best["state"])
            key = self.held_out.key
            note = (f"ended with the parameters of step {best['step']} (lowest {key} "
                    f"{best[key]:.3e})")
            run.message = f"{run.message}; {note}" if run.message else note
            if self.comm.is_main:
                log.info(note)
        if self.comm.is_main:
            metrics, u_pred = evaluate(self.model, self.problem, run.test, self.engine,
                                       self.cfg.eval_batch)
        else:  # rank 0 evaluates; the replicas are identical
            metrics, u_pred = {}, np.empty((0, self.problem.dim_out))
        history = {k: np.asarray(v) for k, v in st["history"].items()}
        return TrainResult(
            status=run.status, message=run.message, history=history, final=metrics,
            u_pred=u_pred, test=run.test, steps=st["step"],
            wall_time_s=run.wall_time(),
            train_time_s=st["train_time"],
            coefficients={} if self.coefficients is None else self.coefficients.values(),
        )

    # ------------------------------------------------------------- helpers
    def _initial_loss(self, points) -> tuple[float, dict[str, float]]:
        """The loss and term losses before the first step (the history's first row)."""
        loss, terms, _ = self.loss(points)
        values = torch.stack([loss.detach(), *(v.detach() for v in terms.values())])
        if self.comm.distributed:
            values = self.comm.all_reduce(values, "mean")
        return float(values[0]), {t: float(v) for t, v in zip(terms, values[1:], strict=True)}

    def _new_optimizer(self, phase, st) -> torch.optim.Optimizer | GaussNewton:
        lr = scheduled_lr(phase, self.cfg.lr, st["local"]) * st["lr_scale"]
        return make_optimizer(phase, self.trained.parameters(), lr, self.comm)

    def _step(self, opt, kind: str, points, step: int) -> tuple[float, dict[str, float]]:
        if kind == "gauss_newton":
            seed = derived_seed(self.seed, step, SUBSAMPLE_KEY, self.comm.rank)
            loss, terms, self._last_pointwise = self._least_squares.step(opt, points, seed)
        else:
            loss, terms, self._last_pointwise = first_order_step(
                opt, kind, lambda: self.loss(points), self.trained, self.comm)
        return loss, terms

    def _record(self, run: Run, lr: float | None) -> dict[str, float]:
        """Evaluate (rank 0) and append a history row."""
        st = run.st
        metrics: dict[str, float] = {}
        if self.comm.is_main:  # the replicas are identical: rank 0 evaluates
            metrics, _ = evaluate(self.model, self.problem, run.test, self.engine,
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
        if self.held_out is not None:  # every rank: the replicas keep the same best
            key = self.held_out.key
            row[key] = self.held_out.misfit(self.model)
            self.held_out.keep_best(st, row[key], self.trained, grid_size_of(self.model))
        row.update(self.balancer.log_row())
        if self.coefficients is not None:
            row.update({f"coef_{k}": v for k, v in self.coefficients.values().items()})
        row.update(metrics)
        append_row(st["history"], row)
        if self.comm.is_main:
            coefs = "".join(f"  {k[5:]}={v:.6g}" for k, v in row.items() if k.startswith("coef_"))
            if self.held_out is not None:
                coefs += f"  {self.held_out.key} {row[self.held_out.key]:.3e}"
            log.info(
                "step %d  loss %.3e  rel_l2 %.3e  G=%s%s", st["step"], st["last_loss"],
                metrics["rel_l2"], row["grid_size"], coefs,
            )
            stop = self.monitor(dict(row)) if self.monitor is not None else None
            if stop and run.status == "completed" and st["step"] < self.cfg.total_steps:
                run.status, run.message = "pruned", str(stop)
                log.info("stopped: %s", stop)
        return metrics

    # ----------------------------------------------------------------- checkpoint
    def resume(self, run: Run) -> None:
        """Load ``run.ckpt`` into the trainer and the run (ConfigError when it does not fit)."""
        if run.ckpt is None or not run.ckpt.is_file():
            raise ConfigError(
                f"train.resume: true but there is no checkpoint at {run.ckpt}; run "
                "without resume, or point hydra.run.dir at the run directory to continue"
            )
        ck = load_checkpoint(run.ckpt)
        if ck.get("n_shards", 1) != self.n_shards:
            raise ConfigError(
                f"train.shards: the checkpoint {run.ckpt} holds {ck.get('n_shards', 1)} "
                f"collocation shards, this run uses {self.n_shards}; resume with "
                f"train.shards={ck.get('n_shards', 1)} (a multiple of the process count)"
            )
        self._restore_model(ck["model"], ck["grid_size"])
        if self.coefficients is not None:
            if ck.get("coefficients") is None:
                raise ConfigError(
                    f"train.resume: the checkpoint {run.ckpt} holds no learned coefficients, "
                    "this run learns some; resume with the settings of the original run"
                )
            self.coefficients.load_state_dict(ck["coefficients"])
        run.colloc.load_global_state(ck["points"])
        bal = dict(ck["balancer"])
        if bal["rba"] is not None:
            bal["rba"] = distributed.shard_slice(bal["rba"], self.n_shards, run.colloc.shards)
        self.balancer.load_state_dict(bal, self.device)
        run.st.update(ck["state"])
        run.wall_prior = float(run.st.get("wall_time", 0.0))  # older checkpoints: none
        run.optimizer_state = ck["optimizer"]
        if self.comm.is_main:
            log.info("resumed from %s at step %d", run.ckpt, run.st["step"])


    def _match_grid(self, grid_size: int | None) -> None:
        """Give the model's KAN grid ``grid_size`` intervals (the shapes a state was saved in)."""
        if grid_size is not None and grid_size_of(self.model) != grid_size:
            with torch.no_grad():
                self.model.extend_grid(grid_size)

    def _restore_model(self, state: dict[str, torch.Tensor], grid_size: int | None) -> None:
        self._match_grid(grid_size)
        self.model.load_state_dict(state)
        self.model.to(self.device, self.dtype)


    def write_checkpoint(self, run: Run, opt) -> None:
        """Rank 0 writes (atomically) the model, optimizer and every shard's points."""
        points = run.colloc.global_state(self.comm)  # collective: all ranks take part
        run.st["wall_time"] = run.wall_time()
        balancer = self.balancer.state_dict()
        if balancer["rba"] is not None:
            balancer["rba"] = self.comm.all_gather_cat(balancer["rba"].to(self.device)).cpu()
        if not self.comm.is_main:
            return
        save_checkpoint(
            run.ckpt,
            {
                "model": self.model.state_dict(),
                "coefficients": None if self.coefficients is None
                else self.coefficients.state_dict(),
                "grid_size": grid_size_of(self.model),
                "optimizer": opt.state_dict(),
                "points": points,
                "n_shards": self.n_shards,
                "balancer": balancer,
                "state": copy.deepcopy(run.st),
            },
        )
