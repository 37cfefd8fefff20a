"""Define your own problem: -u'' = (k pi)^2 sin(k pi x) on [0, 1], u(0) = u(1) = 0.

The exact solution is u = sin(k pi x). Subclass Problem, give it a domain and conditions,
write the residual against the derivative accessor `u`, and (optionally) the exact solution.
"""

import math

import torch

from kanpde.pde import Box, Dirichlet, Problem


class Poisson1D(Problem):
    def __init__(self, k: int = 2, loss_weights: dict | None = None):
        if int(k) != k or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        self.k = int(k)
        domain = Box(["x"], [0.0], [1.0])
        boundary = Dirichlet("boundary", domain.faces(), 0.0)
        super().__init__(domain, [boundary], loss_weights=loss_weights)

    def residual(self, u):
        w = self.k * math.pi
        return u.d2("x") + w**2 * torch.sin(w * u.x("x"))

    def exact(self, x):
        return torch.sin(self.k * math.pi * x)
