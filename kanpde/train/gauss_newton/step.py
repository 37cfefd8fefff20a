"""One Gauss-Newton step of the trainer: its loss as a sum of squares, linearized.

:class:`LeastSquaresStep` ties the trainer's pieces (problem, model, loss balancer, derivative
engine, ranks) to :class:`.optimizer.GaussNewton`: per step it fixes the row factors of the
residual vector at the step's first evaluation (the term, RBA and causal weights, as every
optimizer step does), linearizes (:func:`.linearize.linearize`) and evaluates trial points
of the line search on the same factors.

How the Jacobian is formed is decided at the first step, with a log line saying which and
why: from the layer tape when the model runs jets through layers the tape knows; else the
explicit ``J`` by :mod:`torch.func` (one ``vmap`` of ``jacrev`` over the points, any model and
residual that ``torch.func`` transforms, while ``J`` fits the phase's ``memory_gb``); else
matrix-free autograd products (conjugate gradients on ``J v`` / ``J^T u``). The tape's and the
func ``J`` are checked once against autograd: ``u . (J v)`` must equal ``(J^T u) . v`` from a
backward pass.
"""

from __future__ import annotations

import logging

import torch
from torch import Tensor, nn

from kanpde.models.tape import linear_parameters
from kanpde.train.gauss_newton.linearize import (
    FuncUnsupported,
    Linearization,
    TapeUnsupported,
    linearize,
)
from kanpde.train.gauss_newton.optimizer import GaussNewton

log = logging.getLogger("kanpde.train")

TAPE_CHECK_RTOL = 1e-8


def _has_jets(model: nn.Module) -> bool:
    return callable(getattr(model, "forward_jet", None))


class LeastSquaresStep:
    """Gauss-Newton steps on the trainer's loss (module docstring).

    Args:
        problem: the :class:`kanpde.pde.Problem`.
        model: the trained module (not a compiled view).
        balancer: the trainer's :class:`~kanpde.train.weighting.LossBalancer`.
        engine: the trainer's derivative engine ("auto" | "jets" | "autograd").
        comm: the ranks (:class:`kanpde.train.distributed.Comm`).
    """

    def __init__(self, problem, model: nn.Module, balancer, engine: str, comm) -> None:
        self.problem = problem
        self.model = model
        self.balancer = balancer
        self.engine = engine
        self.comm = comm
        self.mode: str | None = None  # "tape" | "func" | "autograd", decided at the first step
        self.reason = ""
        self._logged: tuple[str, int] | None = None

    def _mean(self, value: float, like: Tensor) -> float:
        if not self.comm.distributed:
            return value
        t = torch.tensor(value, dtype=torch.float64, device=like.device)
        return float(self.comm.all_reduce(t, "mean"))

    def _engine(self) -> str:
        return {"tape": "jets", "func": "func"}.get(self.mode or "", self.engine)

    def _decide(self, opt: GaussNewton, points: dict[str, Tensor],
                params: list[nn.Parameter]) -> None:
        if self.engine in ("autograd", "func") or not _has_jets(self.model):
            why = (f"train engine {self.engine!r}" if self.engine in ("autograd", "func")
                   else f"{type(self.model).__name__} has no forward_jet")
            self._try_func(opt, points, params, why)
            return
        why = ""
        try:
            lin, _ = linearize(self.problem, self.model, points, None, self.balancer.row_scales,
                               params, mode="tape", engine="jets")
            self._check(lin, "the tape's")
        except TapeUnsupported as exc:
            why = str(exc)
        if not self._agreed(not why):
            self._try_func(opt, points, params, why or "the tape failed on another rank")
            return
        self.mode = "tape"
        if self.comm.is_main:
            log.info("Gauss-Newton: Jacobian from the layer tape (%d parameters)",
                     sum(p.numel() for p in params))

    def _try_func(self, opt: GaussNewton, points: dict[str, Tensor],
                  params: list[nn.Parameter], why: str) -> None:
        """The explicit ``J`` by torch.func, checked; else matrix-free autograd products."""
        failed = ""
        try:
            lin, _ = linearize(self.problem, self.model, points, None, self.balancer.row_scales,
                               params, mode="func", max_bytes=opt.memory_bytes)
            self._check(lin, "torch.func's")
        except (FuncUnsupported, TapeUnsupported) as exc:
            failed = str(exc)
        if not self._agreed(not failed):
            self._fallback(f"{why}; {failed or 'torch.func failed on another rank'}")
            return
        self.mode = "func"
        self.reason = why
        if self.comm.is_main:
            log.info("Gauss-Newton: explicit Jacobian by torch.func, vmap over the points "
                     "(%d parameters; %s)", lin.n_params, why)

    def _agreed(self, ok: bool) -> bool:
        """Whether every rank succeeded (so every rank takes the same Jacobian mode)."""
        if not self.comm.distributed:
            return ok
        return self.comm.all_true(ok, next(self.model.parameters()).device)

    def _check(self, lin: Linearization, whose: str) -> None:
        """``u . (J v) = (J^T u) . v`` for random ``u``, ``v``, with ``J^T u`` by a backward
        pass, in float64, to a tolerance scaled by the model's precision."""
        gen = torch.Generator().manual_seed(0)
        v = torch.randn(lin.n_params, generator=gen, dtype=torch.float64).to(lin.rho.device)
        u = torch.randn(lin.n_rows, generator=gen, dtype=torch.float64).to(lin.rho.device)
        jv = lin.jvp(v.to(lin.rho)).double()
        jtu = lin.vjp_backward(u.to(lin.rho)).double()
        left, right = float(u @ jv), float(jtu @ v)
        scale = float(u.abs() @ jv.abs()) + float(jtu.abs() @ v.abs())
        rtol = max(TAPE_CHECK_RTOL, 100 * torch.finfo(lin.rho.dtype).eps)
        if abs(left - right) > rtol * scale + 1e-300 and scale > 0:
            error = TapeUnsupported if lin.mode == "tape" else FuncUnsupported
            raise error(
                f"{whose} Jacobian disagrees with autograd ({left:.6e} vs {right:.6e}): "
                "a parameter is used outside what it differentiates"
            )

    def _fallback(self, why: str) -> None:
        self.mode = "autograd"
        self.reason = why
        if self.comm.is_main:
            log.info("Gauss-Newton: matrix-free Jacobian products by autograd (%s)", why)

    def _log_plan(self, opt: GaussNewton) -> None:
        """Log the solver once per (solver, shape)."""
        plan = opt.plan
        if plan is None or not self.comm.is_main:
            return
        key = (plan.solver, opt.n_params)
        if key != self._logged:
            self._logged = key
            log.info("Gauss-Newton solver: %s (%s)", plan.solver, plan.reason)

    def step(self, opt: GaussNewton, points: dict[str, Tensor], seed: int = 0
             ) -> tuple[float, dict[str, float], dict[str, Tensor]]:
        """One step of ``opt``; returns the loss and term losses at the start of the step
        (averaged over the ranks) and the pointwise residuals there (detached). With
        ``opt.subsample > 0`` the step sees a random subset of the points drawn with
        ``seed`` (:func:`subsample_points`): its loss, terms and residuals are the
        subset's (see :mod:`kanpde.train.gauss_newton.optimizer` for why)."""
        if opt.subsample > 0:
            points = subsample_points(points, opt.subsample, seed)
        if self.mode is None:
            self._decide(opt, points, opt.params)
        scales: dict[str, Tensor] = {}
        first: list[Linearization] = []

        def lin_fn() -> Linearization:
            try:
                lin, sc = linearize(self.problem, self.model, points, scales or None,
                                    self.balancer.row_scales, opt.params, mode=self.mode,
                                    engine=self._engine(), max_bytes=opt.memory_bytes)
            except FuncUnsupported as exc:  # J outgrew memory_gb (a grid extension, more rows)
                self._fallback(str(exc))
                lin, sc = linearize(self.problem, self.model, points, scales or None,
                                    self.balancer.row_scales, opt.params, mode=self.mode,
                                    engine=self._engine())
            scales.update(sc)
            if not first:
                first.append(lin)
            return lin

        def loss_fn() -> float:
            with torch.no_grad():
                pw = self.problem.pointwise(self.model, points, engine=self.engine)
            local = sum(float(((pw[t].detach() * scales[t].to(pw[t]).unsqueeze(1)) ** 2).sum())
                        for t in pw)
            return self._mean(local, points["residual"])

        def block(lin: Linearization) -> list[nn.Parameter]:
            rec = lin.output_call()
            return [] if rec is None else linear_parameters(rec)

        loss = opt.step(lin_fn, loss_fn, block)
        self._log_plan(opt)
        pointwise = first[0].pointwise
        terms = self.balancer.term_losses(pointwise, points["residual"])
        values = torch.stack([v.detach().to(torch.float64) for v in terms.values()])
        if self.comm.distributed:
            values = self.comm.all_reduce(values, "mean")
        return loss, {t: float(v) for t, v in zip(terms, values, strict=True)}, pointwise


def subsample_points(points: dict[str, Tensor], n: int, seed: int) -> dict[str, Tensor]:
    """A random subset of every term's points: ``n`` of the residual points and the same
    fraction (at least one point) of each other term's, drawn without replacement with
    ``seed``; the points as they are when ``n`` is not smaller than the residual set."""
    total = points["residual"].shape[0]
    if n >= total:
        return points
    frac = n / total
    gen = torch.Generator().manual_seed(int(seed))
    out = {}
    for term, pts in points.items():
        m = pts.shape[0]
        keep = max(1, round(frac * m))
        idx = torch.randperm(m, generator=gen)[:keep].sort().values.to(pts.device)
        out[term] = pts.index_select(0, idx)
    return out
