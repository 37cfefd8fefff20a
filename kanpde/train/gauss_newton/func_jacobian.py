r"""The explicit Jacobian of a term's residuals by :mod:`torch.func`, for any model.

A residual row depends on the parameters ``theta`` and its own point only: the model acts row
by row and the derivatives with respect to ``x`` are taken per point. With the derivatives of
the ``func`` engine (:mod:`kanpde.pde.derivatives`: ``vmap`` of ``jacfwd`` over the points,
no ``torch.autograd.grad``), the residual of one point is a pure function
``r(theta, x_m) (K,)``, and the term's Jacobian is one vectorized pass,

    J[m, k, :] = d r_k(theta, x_m) / d theta = vmap_m( jacrev_theta r(theta, x_m) ),

run over chunks of points so that each chunk's intermediates (``chunk x P`` numbers per
tensor) stay within :data:`CHUNK_NUMBERS`, each chunk written into ``J`` as it comes.

This is the Jacobian Gauss-Newton uses when the layer tape cannot give it (the ``autograd``
engine, a model without jets, a residual the jets engine cannot propagate). For ``M`` points
it costs about ``M`` reverse passes of one point's residual, vectorized, where the
double-backward route needs ``P`` products ``J v``, one per column; memory is the ``R x P``
result plus one chunk.

A model or residual that ``torch.func`` cannot transform (``torch.autograd.grad`` or
``.item()`` inside, a custom autograd function without vmap support) raises
:class:`FuncUnsupported`; the caller then falls back to matrix-free products.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap

#: numbers per intermediate tensor of one chunk of points (``chunk x P``): 2^21 float64
#: numbers are 16 MiB
CHUNK_NUMBERS = 2**21


class FuncUnsupported(RuntimeError):
    """The model or the residual cannot be transformed by :mod:`torch.func`."""


@contextmanager
def _transformed(term: str) -> Iterator[None]:
    """Errors of torch.func's transforms as :class:`FuncUnsupported` naming the term."""
    try:
        yield
    except (RuntimeError, TypeError, NotImplementedError, ValueError) as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        raise FuncUnsupported(f"term {term!r} under torch.func: {first[:300]}") from exc


def term_residual(problem, model: nn.Module, term: str, points: Tensor) -> Tensor:
    """The term's residuals ``(M, K)`` by the ``func`` engine, with their autograd graph.

    Raises:
        FuncUnsupported: the residual does not run under ``torch.func`` transforms.
    """
    with _transformed(term):
        return problem.pointwise(model, {term: points}, engine="func")[term]


class _Bound(nn.Module):
    """``model`` evaluated with the given parameter tensors (``functional_call``)."""

    def __init__(self, model: nn.Module, tensors: dict[str, Tensor]) -> None:
        super().__init__()
        self.inner = model
        self.tensors = tensors

    def forward(self, x: Tensor) -> Tensor:
        return functional_call(self.inner, self.tensors, (x,), strict=False)


def model_columns(model: nn.Module, params: Sequence[nn.Parameter]
                  ) -> list[tuple[str, nn.Parameter]]:
    """The entries of ``params`` that are parameters of ``model``, with their names, in the
    order of ``params``."""
    name_of = {id(p): n for n, p in model.named_parameters()}
    return [(name_of[id(p)], p) for p in params if id(p) in name_of]


def fill_term_jacobian(
    problem,
    model: nn.Module,
    term: str,
    points: Tensor,
    named: Sequence[tuple[str, nn.Parameter]],
    columns: Sequence[int],
    scale: Tensor,
    out: Tensor,
) -> None:
    """Write ``s_m d r_mk / d theta`` of term ``term`` into ``out``.

    Args:
        points: the term's points ``(M, C')``.
        named: the model's parameters among ``J``'s columns, with their names.
        columns: the first column of each of ``named`` in ``out``.
        scale: the row factors ``s`` ``(M,)``.
        out: the term's rows of ``J`` ``(M * K, P)``, point-major (row ``m K + k``); the
            columns of ``named`` are overwritten, chunk by chunk of points (nothing of size
            ``R x P`` is allocated here).

    Raises:
        FuncUnsupported: the residual does not run under ``torch.func`` transforms.
    """
    m = points.shape[0]
    n_cols = sum(p.numel() for _, p in named)
    if m == 0 or n_cols == 0:
        return
    k = out.shape[0] // m
    theta = {n: p.detach() for n, p in named}

    def row(tensors: dict[str, Tensor], x: Tensor) -> Tensor:
        bound = _Bound(model, tensors)
        r = problem.pointwise(bound, {term: x.unsqueeze(0)}, engine="func")[term]
        return r.reshape(-1)  # (K,)

    per_point = vmap(jacrev(row), in_dims=(None, 0))
    chunk = max(1, min(m, CHUNK_NUMBERS // n_cols))
    for a in range(0, m, chunk):
        b = min(a + chunk, m)
        # torch.func differentiates with respect to ``theta`` inside no_grad too; no_grad
        # keeps captured tensors (a problem's learned coefficients) from recording a graph
        with _transformed(term), torch.no_grad():
            jac = per_point(theta, points[a:b])  # {name: (b - a, K, *shape)}
        rows = out[a * k : b * k]
        s = scale[a:b].to(out).repeat_interleave(k).unsqueeze(1)
        for (n, p), c0 in zip(named, columns, strict=True):
            rows[:, c0 : c0 + p.numel()].copy_(jac[n].reshape((b - a) * k, -1) * s)
