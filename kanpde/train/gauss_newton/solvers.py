r"""Solvers of the damped Gauss-Newton system, and the choice among them.

One Levenberg-Marquardt step solves, in float64,

    (H + rho I) delta = -g,      H = J^T J,  g = J^T r,  rho = lambda mu,  mu = mean(diag H)

for ``J`` ``(R, P)`` (``R`` residual rows, ``P`` parameters). Each solver returns a function
``rho -> (delta, (-g.delta, delta.H.delta))`` (``delta`` None when a factorization fails),
built once per step (``H`` is fixed within a step, ``rho`` changes between retries):

=========  ==========================================  ========================  ===============
solver     method                                      time per step             memory
=========  ==========================================  ========================  ===============
cholesky   dense ``J``, ``H`` by products, Cholesky    ``R P^2 + P^3/3``         ``R P + P^2``
kernel     dense ``J``, ``K = J J^T``, Cholesky of     ``R^2 P + R^3/3``         ``R P + R^2``
           ``K + rho I``, ``delta = -J^T (K + rho)^-1 r``
pcg        ``J`` by its nonzeros (local B-spline        ``(2 i + 2 s) nnz(J)``    ``nnz(J)``
           support), preconditioned CG, ``i`` its      ``+ P s^2``               ``+ P s``
           iterations, Nystrom rank ``s``
cg         matrix-free ``J v`` / ``J^T u`` (the tape's  ``(2 i + 2 s)`` passes    one graph
           tangents, or autograd), preconditioned CG   over the points
=========  ==========================================  ========================  ===============

``nnz(J) ~ R sum_layers in out (k + 3)`` for a B-spline KAN (``P ~ sum in out (G + k + 2)``),
``R P`` for dense layers. ``"auto"`` (:func:`choose`): ``cholesky`` up to ``dense_max_params``
parameters when the explicit ``J`` exists (the tape) and fits ``memory_gb``; else ``kernel``
when ``R <= dense_max_params`` (so ``R < P``; one process) and it fits; else ``cg`` (the
tape's matrix-free products measured 1.4x-6x faster per step than products with the stored
sparse ``J`` on 2 CPU cores, at 10^3-10^5 parameters, and need no stored ``J``; ``pcg`` stays
for an explicit request). Nothing ``P x P`` or ``R x R`` is formed above
``dense_max_params``. The direct solvers are preferred: the PINN Gauss-Newton matrix has
eigenvalues spread over more than 15 decades (half of them below ``1e-6 mu`` for a KAN on the
Poisson problem), so CG needs hundreds of iterations once the damping is small, while a
Cholesky solve is exact; with ``subsample`` rows per step below ``dense_max_params`` the
kernel form costs ``R^2 P``, linear in ``P``.

Preconditioners of the iterative solvers (:mod:`kanpde.train.gauss_newton.krylov`): ``jacobi``
(``diag(H) + rho``, where the stored ``J`` gives the diagonal), ``nystrom`` (rank
``nystrom_rank``), ``none``; ``"auto"``: ``nystrom`` (the best measured on KAN Poisson systems:
131 iterations where none needed 843 at ``lambda = 1e-3``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from kanpde.core.errors import ConfigError
from kanpde.train.gauss_newton.krylov import Jacobi, Nystrom, pcg

SOLVERS = ("auto", "cholesky", "kernel", "pcg", "cg")
PRECONDITIONERS = ("auto", "none", "jacobi", "nystrom")
GIB = 1024**3


class SolverMemoryError(ConfigError):
    """The requested solver's matrices do not fit the memory budget (a configuration error:
    the command line stops with its message; the last checkpoint keeps the progress)."""


@dataclass
class Plan:
    """The solver a step uses and why (logged once per shape)."""

    solver: str
    reason: str


def dense_bytes(n_rows: int, n_params: int, solver: str) -> int:
    """float64 bytes of the dense solvers' matrices (``J`` and ``H`` or ``K``)."""
    side = n_params if solver == "cholesky" else n_rows
    return 8 * (n_rows * n_params + side * side)


def choose(solver: str, lin, *, dense_max_params: int, memory_bytes: int,
           distributed: bool) -> Plan:
    """The solver for linearization ``lin`` (module docstring); raises
    :class:`SolverMemoryError` naming the setting when a requested solver cannot fit."""
    r, p = lin.n_rows, lin.n_params
    explicit = lin.mode in ("tape", "func")
    gb = memory_bytes / GIB

    def need(name: str) -> int:
        return (lin.jacobian_nbytes(sparse=True) if name == "pcg"
                else dense_bytes(r, p, name))

    if solver != "auto":
        if solver in ("cholesky", "kernel") and not explicit:
            raise ConfigError(
                f"solver='{solver}' needs the explicit Jacobian (the layer tape or torch.func); "
                f"this run linearizes by {lin.mode}: use solver='cg' or 'auto'")
        if solver == "pcg" and lin.mode != "tape":
            raise ConfigError(
                "solver='pcg' needs the sparse Jacobian of the layer tape (the jets engine and "
                f"models whose layers the tape records); this run linearizes by {lin.mode}: use "
                "solver='cholesky', 'kernel', 'cg' or 'auto'")
        if solver == "kernel" and distributed:
            raise ConfigError("solver='kernel' needs every residual row in one process; a "
                             "data-parallel run uses 'cholesky', 'pcg' or 'cg'")
        if solver != "cg" and need(solver) > memory_bytes:
            raise SolverMemoryError(
                f"solver='{solver}' needs {need(solver) / GIB:.2f} GiB for R = {r} rows and "
                f"P = {p} parameters, above memory_gb = {gb:g}: raise the phase's memory_gb, "
                "use fewer points (or subsample) or another solver ('pcg', 'cg' or 'auto')")
        return Plan(solver, "requested")
    if not explicit:
        return Plan("cg", f"matrix-free products by {lin.mode}")
    if p <= dense_max_params and need("cholesky") <= memory_bytes:
        return Plan("cholesky", f"P = {p} <= dense_max_params")
    if not distributed and r <= dense_max_params and need("kernel") <= memory_bytes:
        return Plan("kernel", f"P = {p} > dense_max_params >= R = {r} rows")
    source = "the layer tape" if lin.mode == "tape" else "the stored torch.func Jacobian"
    return Plan("cg", f"P = {p} and R = {r} rows above dense_max_params (or memory_gb): "
                      f"matrix-free products from {source}")


Solve = Callable[[float], tuple[Tensor | None, tuple[float, float]]]


def _f64(t: Tensor) -> Tensor:
    return t.to(torch.float64)


def _damped_solve(mat: Tensor, rho: float, rhs: Tensor) -> Tensor | None:
    """``(mat + rho I)^{-1} rhs`` by Cholesky (None when not positive definite); no
    identity matrix is formed."""
    damped = mat.clone()
    damped.diagonal().add_(rho)
    chol, info = torch.linalg.cholesky_ex(damped)
    del damped
    if int(info) != 0:
        return None
    return torch.cholesky_solve(rhs.unsqueeze(1), chol).squeeze(1)


def cholesky_system(jac: Tensor, r: Tensor, mean: Callable[[Tensor], Tensor]
                    ) -> tuple[Solve, float]:
    """The normal equations by Cholesky (``jac`` ``(R, P)`` float64); returns the solve and
    ``mu``. ``mean`` averages over the ranks."""
    h = mean(gram(jac))
    g = mean(jac.T @ _f64(r))
    mu = float(h.diagonal().mean()) or 1.0

    def solve(rho: float):
        delta = _damped_solve(h, rho, -g)
        if delta is None:
            return None, (0.0, 0.0)
        return delta, (-float(g @ delta), float(delta @ (h @ delta)))

    return solve, mu


def kernel_system(jac: Tensor, r: Tensor) -> tuple[Solve, float]:
    """The kernel form (``R < P``): ``delta = -J^T (J J^T + rho I)^{-1} r``; ``mu`` is
    ``||J||_F^2 / P``. One process (every row needed)."""
    r = _f64(r)
    k = gram(jac.T)  # (R, R)
    mu = float(k.diagonal().sum()) / jac.shape[1] or 1.0

    def solve(rho: float):
        y = _damped_solve(k, rho, -r)
        if y is None:
            return None, (0.0, 0.0)
        jd = k @ y  # J delta
        return jac.T @ y, (-float(r @ jd), float(jd @ jd))

    return solve, mu


@dataclass
class IterativeOptions:
    preconditioner: str = "auto"
    rank: int = 100
    max_iter: int = 200
    rtol: float = 1e-10


def iterative_system(hv: Callable[[Tensor], Tensor], hm: Callable[[Tensor], Tensor], g: Tensor,
                     diag: Tensor | None, opts: IterativeOptions,
                     stats: dict[str, float]) -> Solve:
    """Preconditioned CG on ``(H + rho I) delta = -g`` with ``hv(v) = H v``, ``hm(V) = H V``
    (float64), ``diag`` = ``diag(H)`` when known; CG iterations are added to
    ``stats["cg_iters"]``."""
    kind = opts.preconditioner
    if kind == "auto":
        kind = "nystrom"
    if kind == "jacobi" and diag is None:
        kind = "none"
    pre = None
    if kind == "jacobi":
        pre = Jacobi(diag)
    elif kind == "nystrom":
        pre = Nystrom(hm, g.shape[0], opts.rank, g)

    def solve(rho: float):
        delta, it = pcg(lambda v: hv(v) + rho * v, -g, None if pre is None else pre(rho),
                        opts.max_iter, opts.rtol)
        stats["cg_iters"] = stats.get("cg_iters", 0.0) + it
        hd = hv(delta)
        return delta, (-float(g @ delta), float(delta @ hd))

    return solve


def sparse_system(jac, r: Tensor, mean: Callable[[Tensor], Tensor], opts: IterativeOptions,
                  stats: dict[str, float]) -> tuple[Solve, float]:
    """PCG on the stored sparse ``J`` (:class:`.sparse_jacobian.SparseJacobian`, float64
    values)."""
    g = mean(jac.rmv(_f64(r)))
    diag = mean(jac.column_sq_norms())
    mu = float(diag.mean()) or 1.0
    solve = iterative_system(lambda v: mean(jac.rmv(jac.mv(v))),
                             lambda v: mean(jac.rmm(jac.mm(v))), g, diag, opts, stats)
    return solve, mu


def matrix_free_system(lin, mean: Callable[[Tensor], Tensor],
                       opts: IterativeOptions, stats: dict[str, float]) -> Solve:
    """PCG on products ``J v`` / ``J^T u`` of the linearization (no stored ``J``)."""
    rho_vec = lin.rho
    g = mean(_f64(lin.vjp(rho_vec)))

    def hv(v: Tensor) -> Tensor:
        return mean(_f64(lin.vjp(lin.jvp(v.to(rho_vec.dtype)))))

    def hm(v: Tensor) -> Tensor:
        return torch.stack([hv(c) for c in v.unbind(1)], dim=1)

    return iterative_system(hv, hm, g, None, opts, stats)


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
