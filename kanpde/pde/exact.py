"""The exact solution of a problem as a module, to check residuals and conditions."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kanpde.pde.problem import Problem


class ExactSolution(nn.Module):
    """``x -> problem.exact(x)``: ``(N, dim_in) -> (N, dim_out)``.

    Plugging it into ``problem.pointwise`` gives the residual of the exact solution, which is
    zero up to rounding for a consistent problem definition.

    Raises:
        ValueError: when the problem has no exact solution.
    """

    def __init__(self, problem: Problem) -> None:
        super().__init__()
        probe = problem.domain.scale_unit([[0.5] * problem.dim_in])
        if problem.exact(torch.as_tensor(probe, dtype=torch.float64)) is None:
            raise ValueError(f"{type(problem).__name__} has no exact solution")
        self.problem = problem

    def forward(self, x: Tensor) -> Tensor:
        out = self.problem.exact(x)
        assert out is not None
        return out
