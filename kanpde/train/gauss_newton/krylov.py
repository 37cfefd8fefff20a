r"""Preconditioned conjugate gradients for the damped Gauss-Newton system, and its
preconditioners.

The system is ``A x = b`` with ``A = H + rho I``, ``H = J^T J`` symmetric positive
semidefinite ``(P, P)`` given only by products ``H v`` (or ``H V`` for blocks of vectors) and
``rho > 0`` the Levenberg-Marquardt damping. A preconditioner ``M ~ A`` is applied as
``z = M^{-1} r``:

* :class:`Jacobi`: ``M = diag(H) + rho I`` (from the explicit Jacobian's column norms).
* :class:`Nystrom`: the randomized Nystrom approximation of ``H`` (Frangella, Tropp and Udell,
  SIAM J. Matrix Anal. Appl. 2023): a sketch ``Y = H Omega`` of ``s`` orthonormal Gaussian
  columns, ``H_nys = Y (Omega^T Y)^+ Y^T = U diag(lam) U^T`` (rank ``s``), and

      M^{-1} = U diag((lam_s + rho) / (lam + rho)) U^T + (I - U U^T).

  It costs ``s`` products with ``H`` once per Gauss-Newton step (``H`` is fixed within a
  step, ``rho`` may change) and ``O(P s)`` per application; it removes the top ``s``
  eigenvalues, which dominate the PINN Gauss-Newton spectrum. (Applied to the Jacobi-scaled
  ``D^{-1/2} H D^{-1/2}`` it measured worse than unscaled, and Jacobi alone worse than no
  preconditioner, on KAN Poisson systems: the spectrum, not the column scales, is the
  difficulty.)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

Apply = Callable[[Tensor], Tensor]


def pcg(apply: Apply, b: Tensor, precond: Apply | None = None, max_iter: int = 200,
        rtol: float = 1e-10) -> tuple[Tensor, int]:
    """Solve ``A x = b`` for symmetric positive definite ``A`` (``apply(v) = A v``), with
    ``precond(r) = M^{-1} r`` (None: none), from ``x = 0``; stops after ``max_iter``
    iterations or at ``||A x - b|| <= rtol ||b||``. Returns ``x`` and the iterations run."""
    x = torch.zeros_like(b)
    r = b.clone()
    b_norm2 = float(r @ r)
    if b_norm2 == 0.0:
        return x, 0
    stop = (rtol**2) * b_norm2
    z = r if precond is None else precond(r)
    p = z.clone()
    rz = float(r @ z)
    it = 0
    while it < max_iter:
        ap = apply(p)
        denom = float(p @ ap)
        if not denom > 0 or not math.isfinite(denom):
            break
        a = rz / denom
        x.add_(p, alpha=a)
        r.sub_(ap, alpha=a)
        it += 1
        if float(r @ r) <= stop:
            break
        z = r if precond is None else precond(r)
        rz_new = float(r @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x, it


class Jacobi:
    """``M^{-1} r = r / (diag + rho)`` (module docstring); ``diag`` ``(P,)``."""

    def __init__(self, diag: Tensor) -> None:
        self.diag = diag.clamp(min=0)

    def __call__(self, rho: float) -> Apply:
        inv = 1.0 / (self.diag + rho)
        return lambda r: r * inv


class Nystrom:
    """Randomized Nystrom preconditioner of ``H + rho I`` (module docstring).

    Args:
        hmm: ``V (P, s) -> H V (P, s)``.
        n: ``P``. rank: ``s`` (clipped to ``P``). like: a tensor of the dtype and device.
        seed: the sketch's seed.
    """

    def __init__(self, hmm: Apply, n: int, rank: int, like: Tensor, seed: int = 0) -> None:
        s = max(1, min(int(rank), n))
        gen = torch.Generator(device="cpu").manual_seed(seed)
        omega = torch.randn(n, s, generator=gen, dtype=torch.float64).to(like)
        omega, _ = torch.linalg.qr(omega)
        y = hmm(omega)
        nu = math.sqrt(n) * torch.finfo(y.dtype).eps * float(torch.linalg.matrix_norm(y))
        y = y + nu * omega
        small = omega.T @ y
        small = 0.5 * (small + small.T)
        chol, info = torch.linalg.cholesky_ex(small)
        if int(info) != 0:  # numerically indefinite: a ridge keeps it factorizable
            ridge = 1e-10 * float(small.diagonal().abs().max())
            chol = torch.linalg.cholesky(small + ridge * torch.eye(s).to(small))
        b = torch.linalg.solve_triangular(chol, y.T, upper=False).T  # Y C^{-T}
        u, sig, _ = torch.linalg.svd(b, full_matrices=False)
        self.u = u
        self.lam = (sig**2 - nu).clamp(min=0.0)
        self.rank = s

    def __call__(self, rho: float) -> Apply:
        factor = (float(self.lam[-1]) + rho) / (self.lam + rho) - 1.0  # (s,)
        return lambda v: v + self.u @ (factor * (self.u.T @ v))
