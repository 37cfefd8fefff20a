r"""Levenberg-Marquardt (damped Gauss-Newton) steps on the PINN sum of squares.

One step at parameters ``theta`` with the residual vector ``rho`` and its Jacobian ``J``
(:mod:`kanpde.train.gauss_newton.linearize`; ``L = ||rho||^2``):

    (J^T J + lambda mu I) delta = -J^T rho,          mu = mean(diag(J^T J))

solved in float64 by one of the solvers of :mod:`kanpde.train.gauss_newton.solvers`: Cholesky of the
``P x P`` normal matrix, the kernel form (``R x R``, for fewer rows than parameters),
preconditioned conjugate gradients on the stored sparse ``J`` (a B-spline KAN's local
support), or matrix-free preconditioned CG on ``J v`` / ``J^T u`` products (``mu`` then
estimated from a few random probes). ``"auto"`` picks one from ``P``, ``R`` and
``memory_gb``.

Point subsampling (``subsample > 0``, drawn by the trainer): each step linearizes, solves and
line-searches on one fresh random subset of the points (a stochastic Levenberg-Marquardt
step; its loss is the subset's). Judging the subset's step by the loss of every point
measured worse: near the minimum such steps are rejected and the run stalls (Poisson,
2000 of 10,000 points per step: 1.4e-5 against 1.4e-6).

Line search and damping: the trial points ``theta + alpha delta`` for ``alpha = lr, lr/2,
lr/4`` are tried in turn; the first that satisfies Armijo's condition
``L(alpha) <= L - 1e-4 pred(alpha)`` (``pred(alpha) = 2 alpha (-g.delta) - alpha^2
delta.H.delta``, the decrease the linear model predicts) is taken. With the full step taken,
the gain ratio ``q = (L - L(lr)) / pred(lr)`` sets the damping (Marquardt's rule):
``lambda <- lambda / 3`` for ``q > 0.25``, unchanged for ``0.1 < q <= 0.25``, doubled below;
with a shorter step ``lambda <- 2 lambda``; with none, ``lambda <- nu lambda``, ``nu <- 2 nu``
and the step is solved again (at most ``max_iter`` solves per step; a failed Cholesky
factorization counts as such a solve). A step where nothing decreases the loss leaves
``theta`` unchanged. (Nielsen's smooth rule measured slightly worse on the benchmarks.)

Variable projection (``varpro=True``, for problems whose residuals are affine in the output
layer's linear coefficients, i.e. linear PDEs and conditions): before each damped step those
coefficients are set to their exact linear least-squares optimum (one undamped Gauss-Newton
step on that block, exact because the residual is affine in it), and the system is
linearized again there.

Data-parallel runs: ``J^T J``, ``J^T rho`` (or the products of CG) and the trial losses are
averaged over the ranks, so every rank takes the same step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from kanpde.train.gauss_newton.krylov import pcg
from kanpde.train.gauss_newton.linearize import Linearization
from kanpde.train.gauss_newton.solvers import (
    GIB,
    SOLVERS,
    IterativeOptions,
    Plan,
    cholesky_system,
    choose,
    gram,
    kernel_system,
    matrix_free_system,
    sparse_system,
)

__all__ = ["GaussNewton", "SOLVERS", "conjugate_gradient", "gram"]
ARMIJO = 1e-4
STEP_FRACTIONS = (1.0, 0.5, 0.25)
GOOD_GAIN, POOR_GAIN = 0.25, 0.1
DAMPING_RANGE = (1e-15, 1e15)


class GaussNewton:
    """Levenberg-Marquardt optimizer (module docstring); the interface the trainer uses
    (``param_groups[0]["lr"]``, ``state_dict``, ``load_state_dict``, ``zero_grad``).

    Args:
        params: the trained parameters (the columns of ``J``).
        lr: step scale ``alpha`` of the first trial point (1.0: the full step).
        damping: initial ``lambda`` (relative to ``mean(diag(J^T J))``); 0 is Gauss-Newton
            without damping until a step fails (then from ``DAMPING_RANGE[0]`` up).
        solver: ``"auto"``, ``"cholesky"``, ``"kernel"``, ``"pcg"`` or ``"cg"``
            (:mod:`kanpde.train.gauss_newton.solvers`).
        max_iter: solves per step before the step is given up.
        cg_max_iter: conjugate-gradient iterations per solve (``"pcg"``, ``"cg"``).
        dense_max_params: the largest parameter count ``"auto"`` solves by Cholesky (and the
            largest side of any dense square matrix ``"auto"`` forms).
        preconditioner: ``"auto"``, ``"none"``, ``"jacobi"`` or ``"nystrom"`` (iterative
            solvers). nystrom_rank: the Nystrom sketch's rank.
        cg_rtol: relative residual at which CG stops.
        memory_gb: budget for the solver's matrices (the stored ``J``, ``H`` or ``K``).
        subsample: residual points per step (0: all; the trainer draws the subset, see
            :func:`kanpde.train.gauss_newton.step.subsample_points`).
        varpro: variable projection of the output layer (module docstring).
        comm: :class:`kanpde.train.distributed.Comm` for the reductions (None: one process).
    """

    def __init__(
        self,
        params: Sequence[nn.Parameter],
        lr: float = 1.0,
        damping: float = 1e-3,
        solver: str = "auto",
        max_iter: int = 10,
        cg_max_iter: int = 200,
        dense_max_params: int = 5000,
        varpro: bool = False,
        comm=None,
        preconditioner: str = "auto",
        nystrom_rank: int = 100,
        cg_rtol: float = 1e-10,
        memory_gb: float = 8.0,
        subsample: int = 0,
    ) -> None:
        if solver not in SOLVERS:
            raise ValueError(f"solver={solver!r}; allowed values: {', '.join(SOLVERS)}")
        self.iterative = IterativeOptions(preconditioner, int(nystrom_rank), int(cg_max_iter),
                                          float(cg_rtol))
        self.memory_bytes = int(float(memory_gb) * GIB)
        self.plan: Plan | None = None  # the solver of the last step and why
        self.subsample = int(subsample)
        self.params = [p for p in params if p.requires_grad]
        self.param_groups: list[dict[str, Any]] = [{"params": self.params, "lr": float(lr)}]
        self.solver = solver
        self.max_iter = int(max_iter)
        self.cg_max_iter = int(cg_max_iter)
        self.dense_max_params = int(dense_max_params)
        self.varpro = bool(varpro)
        self.comm = comm
        self.damping = float(damping)
        self.nu = 2.0
        self.last: dict[str, float] = {}  # diagnostics of the last step
        self._jac_buffer: Tensor | None = None

    # ------------------------------------------------------------------ interface
    def zero_grad(self, set_to_none: bool = True) -> None:  # noqa: ARG002 (no gradients)
        return None

    def state_dict(self) -> dict[str, Any]:
        return {"damping": self.damping, "nu": self.nu, "lr": self.param_groups[0]["lr"]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.damping = float(state["damping"])
        self.nu = float(state["nu"])
        self.param_groups[0]["lr"] = float(state["lr"])

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.params)

    # ------------------------------------------------------------------ reductions
    def _mean(self, t: Tensor) -> Tensor:
        if self.comm is None or not self.comm.distributed:
            return t
        return self.comm.all_reduce(t, "mean")

    def _mean_float(self, value: float, like: Tensor) -> float:
        return float(self._mean(torch.tensor(value, dtype=torch.float64, device=like.device)))

    # ------------------------------------------------------------------ parameters
    def _get(self) -> list[Tensor]:
        return [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def _set(self, base: list[Tensor], delta: Tensor | None = None, alpha: float = 0.0) -> None:
        """Parameters ``base + alpha delta`` (``base`` alone without ``delta``). Written
        through ``.data``: the linearization's graph (which saved the parameters) stays
        usable for more products once ``base`` is restored."""
        if delta is None:
            for p, b in zip(self.params, base, strict=True):
                p.data.copy_(b)
            return
        for p, b, d in zip(self.params, base, delta.split([p.numel() for p in self.params]),
                           strict=True):
            p.data.copy_(b + alpha * d.view_as(p).to(p.dtype))

    # ------------------------------------------------------------------ the step
    def step(self, linearize: Callable[[], Linearization], loss: Callable[[], float],
             linear_block: Callable[[Linearization], list[nn.Parameter]] | None = None,
             ) -> float:
        """One step; returns the loss (averaged over the ranks) at the start of the step.

        ``linearize()`` linearizes at the current parameters (row factors held fixed within
        the step), ``loss()`` is ``||rho||^2`` there (averaged over the ranks);
        ``linear_block(lin)`` lists the output layer's linear coefficients (``varpro``).
        """
        lin = linearize()
        loss0 = self._mean_float(lin.loss, lin.rho)
        if not math.isfinite(loss0):
            return loss0
        reference = loss0
        if self.varpro and linear_block is not None and lin.mode == "tape":
            before = self._get()
            self._project(lin, linear_block(lin))
            projected = linearize()
            value = self._mean_float(projected.loss, projected.rho)
            if math.isfinite(value) and value <= loss0:
                lin, reference = projected, value
            else:  # the residual is not affine in the block: keep the parameters
                self._set(before)
        self.last = {"solves": 0.0, "alpha": 0.0, "gain": float("nan")}
        system = self._system(lin)
        base = self._get()
        lr = self.param_groups[0]["lr"]
        for _ in range(self.max_iter):
            delta, pred = system(self.damping)
            self.last["solves"] += 1
            if delta is None:  # not positive definite at this damping
                self._raise_damping()
                continue
            taken = None
            for frac in STEP_FRACTIONS:
                alpha = lr * frac
                self._set(base, delta, alpha)
                trial = loss()
                model_decrease = 2.0 * alpha * pred[0] - alpha**2 * pred[1]
                if math.isfinite(trial) and trial <= reference - ARMIJO * model_decrease:
                    taken = (alpha, trial, model_decrease)
                    break
            if taken is None:
                self._set(base)  # the linearization point, for the next solve
                self._raise_damping()
                continue
            alpha, trial, model_decrease = taken
            gain = (reference - trial) / max(model_decrease, 1e-300)
            if alpha < lr or gain <= POOR_GAIN:  # the linear model promised too much
                self.damping = max(2.0 * self.damping, DAMPING_RANGE[0])
            elif gain > GOOD_GAIN:
                self.damping /= 3.0
            self.nu = 2.0
            self.damping = min(self.damping, DAMPING_RANGE[1])
            self.last.update(alpha=alpha, gain=gain, loss=trial)
            return loss0
        self._set(base)  # nothing decreased the loss: the step is given up
        self.damping = min(self.damping, DAMPING_RANGE[1])
        return loss0

    def _buffer(self, lin: Linearization) -> Tensor:
        """A zeroed ``(R, P)`` tensor for the Jacobian, kept between steps (no new pages)."""
        shape = (lin.n_rows, lin.n_params)
        buf = self._jac_buffer
        if buf is None or buf.shape != shape or buf.dtype != lin.rho.dtype \
                or buf.device != lin.rho.device:
            buf = self._jac_buffer = lin.rho.new_zeros(shape)
        else:
            buf.zero_()
        return buf

    def _raise_damping(self) -> None:
        """``lambda <- nu lambda``, ``nu <- 2 nu`` (from ``DAMPING_RANGE[0]`` when 0)."""
        self.damping = min(max(self.damping * self.nu, DAMPING_RANGE[0]), DAMPING_RANGE[1])
        self.nu *= 2.0

    def _system(self, lin: Linearization):
        """A solver ``damping -> (delta, (-g.delta, delta.H.delta))`` of the damped system
        (:mod:`kanpde.train.gauss_newton.solvers`); ``self.plan`` says which and why."""
        distributed = self.comm is not None and self.comm.distributed
        self.plan = choose(self.solver, lin, dense_max_params=self.dense_max_params,
                           memory_bytes=self.memory_bytes, distributed=distributed)
        kind = self.plan.solver
        stats = self.last
        if kind in ("cholesky", "kernel"):
            # the tape assembles J into a kept buffer; torch.func's J is already stored
            buffer = self._buffer(lin) if lin.mode == "tape" else None
            jac = lin.jacobian(out=buffer).to(torch.float64)
            if kind == "cholesky":
                solve, mu = cholesky_system(jac, lin.rho, self._mean)
            else:
                solve, mu = kernel_system(jac, lin.rho)
        elif kind == "pcg":
            self._jac_buffer = None  # no dense J this step: free the kept one
            sparse = lin.sparse_jacobian().to(torch.float64)
            solve, mu = sparse_system(sparse, lin.rho, self._mean, self.iterative, stats)
        else:
            self._jac_buffer = None
            mu = self._diag_mean(lin)
            solve = matrix_free_system(lin, self._mean, self.iterative, stats)

        def damped(damping: float):
            return solve(damping * mu)

        return damped

    def _diag_mean(self, lin: Linearization, probes: int = 4) -> float:
        """``mean(diag(J^T J)) = E ||J z||^2 / P`` for Rademacher ``z`` (a few probes)."""
        gen = torch.Generator(device="cpu").manual_seed(1234)
        total = 0.0
        for _ in range(probes):
            z = torch.randint(0, 2, (lin.n_params,), generator=gen).to(lin.rho) * 2 - 1
            total += float(lin.jvp(z).pow(2).sum())
        value = self._mean_float(total / (probes * lin.n_params), lin.rho)
        return value if value > 0 else 1.0

    @torch.no_grad()
    def _project(self, lin: Linearization, block: list[nn.Parameter]) -> None:
        """Set the ``block`` coefficients to their linear least-squares optimum."""
        ids = {id(p) for p in block}
        cols = []
        off = 0
        for p in lin.params:
            if id(p) in ids:
                cols.extend(range(off, off + p.numel()))
            off += p.numel()
        if not cols:
            return
        idx = torch.tensor(cols, device=lin.rho.device)
        jb = lin.jacobian().index_select(1, idx).to(torch.float64)
        h = self._mean(jb.T @ jb)
        g = self._mean(jb.T @ lin.rho.to(torch.float64))
        ridge = 1e-12 * (float(h.diagonal().mean()) or 1.0)
        eye = torch.eye(h.shape[0], dtype=h.dtype, device=h.device)
        delta = torch.linalg.solve(h + ridge * eye, -g)
        full = torch.zeros(lin.n_params, dtype=torch.float64, device=lin.rho.device)
        full[idx] = delta
        self._set(self._get(), full, 1.0)


def conjugate_gradient(apply: Callable[[Tensor], Tensor], b: Tensor, max_iter: int,
                       rtol: float = 1e-10) -> Tensor:
    """Solve ``A x = b`` for a symmetric positive definite ``A`` given as ``apply(v) = A v``
    (unpreconditioned :func:`kanpde.train.gauss_newton.krylov.pcg`)."""
    return pcg(apply, b, None, max_iter, rtol)[0]
