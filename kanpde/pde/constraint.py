"""Hard constraints: wrap a network so its output satisfies some conditions exactly.

``HardConstraint(model, problem)(x) = problem.output_transform(x, model(x))``. A problem that
supplies a transform (e.g. ``u = (1 - x^2)(1 - y^2) N(x, y)`` for zero Dirichlet data on
``[-1, 1]^2``) lists the terms it satisfies in ``problem.constrained_terms``; a trainer may
drop or down-weight those loss terms.

The wrapper has no ``forward_jet``, so derivatives of a hard-constrained model use the
autograd engine (``engine="auto"`` picks it); a jet version of the transforms may follow.
``extend_grid`` and ``update_grid`` are forwarded to the wrapped model when it has them.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from kanpde.pde.problem import Problem

_FORWARDED = ("extend_grid", "update_grid", "grid_size", "widths")


class HardConstraint(nn.Module):
    """``x -> problem.output_transform(x, model(x))``: ``(N, dim_in) -> (N, dim_out)``.

    Raises:
        ValueError: when the problem has no output transform.
    """

    def __init__(self, model: nn.Module, problem: Problem) -> None:
        super().__init__()
        if not problem.has_output_transform:
            raise ValueError(
                f"{type(problem).__name__} has no output_transform; a hard constraint "
                "is not available for it (use the soft-constraint losses)"
            )
        self.model = model
        self.problem = problem

    def forward(self, x: Tensor) -> Tensor:
        out = self.problem.output_transform(x, self.model(x))
        assert out is not None
        return out

    def __getattr__(self, name: str) -> Any:
        if name in _FORWARDED:
            return getattr(self._modules["model"], name)
        return super().__getattr__(name)
