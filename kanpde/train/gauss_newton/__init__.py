"""Gauss-Newton (Levenberg-Marquardt) training of the PINN least-squares loss.

The optimizer (:mod:`.optimizer`: damping, line search, the solve of each step), one step
of the trainer (:mod:`.step`: linearize, solve, try), the linearization of the residuals
(:mod:`.linearize`: ``rho`` and products with ``J`` from the layer tape or autograd), the
Jacobian by its nonzeros (:mod:`.sparse_jacobian`), the solvers and their choice
(:mod:`.solvers`) and the Krylov methods with their preconditioners (:mod:`.krylov`)."""

from kanpde.train.gauss_newton.linearize import Linearization, TapeUnsupported, linearize
from kanpde.train.gauss_newton.optimizer import GaussNewton, conjugate_gradient
from kanpde.train.gauss_newton.solvers import PRECONDITIONERS, SOLVERS, SolverMemoryError
from kanpde.train.gauss_newton.step import LeastSquaresStep

__all__ = ["PRECONDITIONERS", "SOLVERS", "GaussNewton", "LeastSquaresStep", "Linearization",
           "SolverMemoryError", "TapeUnsupported", "conjugate_gradient", "linearize"]
