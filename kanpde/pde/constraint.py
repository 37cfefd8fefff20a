"""Hard constraints: wrap a network so its output satisfies some conditions exactly.

``HardConstraint(model, problem)(x) = problem.output_transform(x, model(x))``. A problem that
supplies a transform (e.g. ``u = (1 - x^2)(1 - y^2) N(x, y)`` for zero Dirichlet data on
``[-1, 1]^2``) lists the terms it satisfies in ``problem.constrained_terms``; a trainer may
drop or down-weight those loss terms.

With a wrapped model that has ``forward_jet``, the wrapper has one too: for the identity
input jet (what the derivative accessor seeds) and ``u = T(x, n)``, ``n = N(x)``,

    u_a  = T_{x_a} + T_n n_a
    u_ab = T_{x_a x_b} + T_{x_a n} n_b + T_{x_b n} n_a + T_{nn} n_a n_b + T_n n_ab

(for several outputs, output by output, with the products summed over the channels of ``n``)

with the partial derivatives of the (cheap, pointwise) transform taken by autograd at
``(x, n)`` and ``n``'s jet from the network, so the parameter gradient flows through both.
``extend_grid``, ``update_grid`` and ``supports_grid_updates`` are forwarded to the wrapped
model when it has them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from kanpde.core.jet import Jet
from kanpde.pde.problem import Problem

_FORWARDED = (
    "extend_grid", "update_grid", "grid_size", "widths", "supports_grid_updates", "net",
    "dim_in", "dim_out",
)


def _grad(out: Tensor, wrt: Tensor) -> Tensor:
    """Pointwise ``d out / d wrt`` (rows independent), zero where unused; keeps the graph."""
    if not out.requires_grad:
        return torch.zeros_like(wrt)
    (g,) = torch.autograd.grad(out.sum(), wrt, create_graph=True, allow_unused=True)
    return torch.zeros_like(wrt) if g is None else g


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

    def unwrap(self) -> tuple[nn.Module, Callable[[Tensor], Tensor]]:
        """``(model, identity)``: the constrained model sees this wrapper's own inputs
        (the wrapper protocol of :mod:`kanpde.models.wrapper`)."""
        return self._modules["model"], _identity

    def forward(self, x: Tensor) -> Tensor:
        out = self.problem.output_transform(x, self.model(x))
        assert out is not None
        return out

    @property
    def forward_jet(self) -> Callable[[Jet], Jet]:
        """Present iff the wrapped model has ``forward_jet`` (see the module docstring)."""
        inner = getattr(self._modules["model"], "forward_jet", None)
        if not callable(inner):
            raise AttributeError(f"{type(self._modules['model']).__name__} has no forward_jet")
        return lambda jet: self._transform_jet(jet, inner(jet))

    def _transform_jet(self, jet: Jet, n: Jet) -> Jet:
        x = jet.value
        c = jet.n_coords
        eye = torch.eye(c, dtype=x.dtype, device=x.device)
        if x.shape[1] != c or not torch.equal(jet.d1, eye.expand_as(jet.d1)) or bool(
            jet.d2.any()
        ):
            raise ValueError("HardConstraint.forward_jet needs the identity jet of its input")
        m = n.width
        with torch.enable_grad():
            xl = x.detach().requires_grad_(True)
            nv = n.value  # (N, m), in the graph of the parameters
            if not nv.requires_grad:
                nv = nv.detach().requires_grad_(True)
            u = self.problem.output_transform(xl, nv)  # (N, m)
            d1s, d2s = [], []
            for j in range(u.shape[1]):  # the chain rule, output by output
                tx = _grad(u[:, j : j + 1], xl)  # (N, C)
                tn = _grad(u[:, j : j + 1], nv)  # (N, m)
                txn = torch.stack([_grad(tx[:, a : a + 1], nv) for a in range(c)], 1)  # (N,C,m)
                tnn = torch.stack([_grad(tn[:, k : k + 1], nv) for k in range(m)], 1)  # (N,m,m)
                d1s.append(tx + (n.d1 * tn.unsqueeze(1)).sum(2))  # (N, C)
                rows = []
                for p, (a, b) in enumerate(jet.pairs):
                    na, nb = n.d1[:, a], n.d1[:, b]  # (N, m)
                    rows.append(_grad(tx[:, a : a + 1], xl)[:, b]
                                + (txn[:, a] * nb).sum(1) + (txn[:, b] * na).sum(1)
                                + torch.einsum("nk,nkl,nl->n", na, tnn, nb)
                                + (tn * n.d2[:, p]).sum(1))
                d2s.append(torch.stack(rows, 1) if rows else x.new_zeros(x.shape[0], 0))
            d1 = torch.stack(d1s, 2)  # (N, C, m)
            d2 = torch.stack(d2s, 2)  # (N, P, m)
        return Jet(u, d1, d2, jet.pairs)

    def __getattr__(self, name: str) -> Any:
        if name in _FORWARDED:
            return getattr(self._modules["model"], name)
        return super().__getattr__(name)


def _identity(x: Tensor) -> Tensor:
    return x
