r"""Levenberg-Marquardt (damped Gauss-Newton) steps on the PINN sum of squares.

One step at parameters ``theta`` with the residual vector ``rho`` and its Jacobian ``J``
(:mod:`kanpde.train.linearize`; ``L = ||rho||^2``):

    (J^T J + lambda mu I) delta = -J^T rho,          mu = mean(diag(J^T J))

solved in float64, by Cholesky of the ``P x P`` matrix (``solver="cholesky"``) or by
conjugate gradients on products with ``J`` and ``J^T`` (``solver="cg"``, matrix-free, for
large networks; ``mu`` then estimated from a few random probes). ``"auto"`` takes Cholesky
up to ``dense_max_params`` parameters when the explicit ``J`` is available (the tape mode).

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

from kanpde.train.linearize import Linearization

SOLVERS = ("auto", "cholesky", "cg")
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
        solver: ``"auto"``, ``"cholesky"`` or ``"cg"``.
        max_iter: solves per step before the step is given up.
        cg_max_iter: conjugate-gradient iterations per solve (``"cg"``).
        dense_max_params: the largest parameter count ``"auto"`` solves by Cholesky.
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
    ) -> None:
        if solver not in SOLVERS:
            raise ValueError(f"solver={solver!r}; allowed values: {', '.join(SOLVERS)}")
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
        dense = self._dense(lin)
        system = self._system(lin, dense)
        base = self._get()
        lr = self.param_groups[0]["lr"]
        self.last = {"solves": 0.0, "alpha": 0.0, "gain": float("nan")}
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

    def _dense(self, lin: Linearization) -> bool:
        if self.solver == "cg":
            return False
        if self.solver == "cholesky":
            if lin.mode != "tape":
                raise ValueError(
                    "solver='cholesky' needs the explicit Jacobian (the jets engine and models "
                    f"whose layers the tape records); this run linearizes by {lin.mode}: use "
                    "solver='cg' or 'auto'"
                )
            return True
        return lin.mode == "tape" and self.n_params <= self.dense_max_params

    def _system(self, lin: Linearization, dense: bool):
        """A solver ``damping -> (delta, (-g.delta, delta.H.delta))`` of the damped system."""
        rho = lin.rho
        if dense:
            jac = lin.jacobian(out=self._buffer(lin)).to(torch.float64)
            h = self._mean(gram(jac))
            g = self._mean(jac.T @ rho.to(torch.float64))
            del jac
            mu = float(h.diagonal().mean().detach()) or 1.0
            eye = torch.eye(h.shape[0], dtype=h.dtype, device=h.device)

            def solve_dense(damping: float):
                chol, info = torch.linalg.cholesky_ex(h + (damping * mu) * eye)
                if int(info) != 0:
                    return None, (0.0, 0.0)
                delta = torch.cholesky_solve(-g.unsqueeze(1), chol).squeeze(1)
                return delta, (-float(g @ delta), float(delta @ (h @ delta)))

            return solve_dense

        g = self._mean(lin.vjp(rho).to(torch.float64))

        def hvp(v: Tensor) -> Tensor:
            jv = lin.jvp(v.to(rho.dtype))
            return self._mean(lin.vjp(jv).to(torch.float64))

        mu = self._diag_mean(lin)

        def solve_cg(damping: float):
            lam = damping * mu
            delta = conjugate_gradient(lambda v: hvp(v) + lam * v, -g, self.cg_max_iter)
            hd = hvp(delta)
            return delta, (-float(g @ delta), float(delta @ hd))

        return solve_cg

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


def gram(jac: Tensor, blocks: int = 4) -> Tensor:
    """``J^T J`` ``(P, P)`` for ``J`` ``(R, P)``: the blocks on and below the diagonal of a
    ``blocks x blocks`` partition by matrix products, the others by symmetry (about a quarter
    fewer flops than one product for ``P`` in the thousands; one product below 512)."""
    p = jac.shape[1]
    if p < 512:
        return jac.T @ jac
    cuts = [round(i * p / blocks) for i in range(blocks + 1)]
    h = jac.new_empty(p, p)
    for a in range(blocks):
        ra = slice(cuts[a], cuts[a + 1])
        for b in range(a + 1):
            rb = slice(cuts[b], cuts[b + 1])
            h[ra, rb] = jac[:, ra].T @ jac[:, rb]
            if a != b:
                h[rb, ra] = h[ra, rb].T
    return h


def conjugate_gradient(apply: Callable[[Tensor], Tensor], b: Tensor, max_iter: int,
                       rtol: float = 1e-10) -> Tensor:
    """Solve ``A x = b`` for a symmetric positive definite ``A`` given as ``apply(v) = A v``
    (at most ``max_iter`` iterations, stopping at ``||A x - b|| <= rtol ||b||``)."""
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rr = float(r @ r)
    stop = (rtol**2) * rr
    for _ in range(max_iter):
        if rr <= stop or rr == 0.0:
            break
        ap = apply(p)
        denom = float(p @ ap)
        if not denom > 0:
            break
        a = rr / denom
        x = x + a * p
        r = r - a * ap
        rr_new = float(r @ r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x
