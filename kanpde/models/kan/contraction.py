r"""Contraction of locally supported basis weights with per-input coefficient tables.

Both functions compute, for points ``n``, channels ``c``, inputs ``i`` and slots ``s``,

    y[n, c, :] = sum_{i, s} w[n, c, i, s] * table[i, index[n, i, s], :]        (N, C, out)

with ``w`` ``(N, C, in, S)``, ``index`` ``(N, in, S)`` (row of input ``i``'s table, values in
``0..R-1``) and ``table`` ``(in, R, out)``. Only ``S`` of the ``R`` rows of every input are
addressed per point (``S = k + 2`` for a B-spline KAN edge: ``k + 1`` splines and the base
activation), which the two implementations exploit differently:

``dense_contract``: scatter ``w`` into a zero ``(N, C, in, R)`` tensor and run one matmul
``(N C, in R) @ (in R, out)``. Memory and time grow with ``R`` (with the grid size ``G``);
fastest for small ``R``. Twice differentiable.

``sparse_contract``: the matrix ``(N C, in R)`` is kept sparse (``nnz = N C in S``). Forward:
``embedding_bag`` (a weighted sum of addressed rows, nothing of size ``R`` materialized).
Backward: ``dL/dw`` is a sampled dense-dense product (``torch.sparse.sampled_addmm`` on the
CSR pattern) and ``dL/dtable`` the transposed product, a weighted row sum of ``dL/dy`` per
table row (``embedding_bag`` with offsets) after one stable sort of the ``N in S`` columns.
Cost independent of ``R``; once differentiable (enough for a training step on jet outputs,
not for nested autograd).

``edge_contract`` (below) forms the per-edge derivatives first; cheapest for narrow outputs.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import Tensor


def _flat_columns(index: Tensor, rows_per_input: int) -> Tensor:
    """Row of the flattened table ``(in R, out)``: ``i R + index[n, i, s]``, as ``(N, in S)``."""
    n_pts, n_in, n_slots = index.shape
    offsets = torch.arange(n_in, device=index.device) * rows_per_input
    return (index + offsets[:, None]).reshape(n_pts, n_in * n_slots)


def rows_times(a: Tensor, w: Tensor) -> Tensor:
    """``a @ w`` for ``a`` ``(..., K)`` and ``w`` ``(K, out)``, as ``F.linear(a, w^T)``.

    The same product with the weight in ``nn.Linear``'s ``(out, K)`` layout: its forward and
    both backward products (``dL/da = g w^T``, ``dL/dw^T = g^T a``) then run in the layouts
    BLAS is fastest in for a tall ``a`` and a narrow ``out``. Measured on the 2-core CPU
    (MKL, ``a`` ``(8192, 90)``, ``out = 10``): forward 0.84 -> 0.44 ms, weight gradient
    0.94 -> 0.22 ms in float32 (0.91 -> 0.72 and 1.21 -> 0.69 ms in float64).
    Under ``torch.compile`` it is the plain ``a @ w``: the transposed copy inside a compiled
    KAN jet graph made inductor's generated code corrupt the heap (torch 2.13, CPU), and the
    compiler chooses its own layouts anyway.
    """
    if torch.compiler.is_compiling():
        return a @ w
    return F.linear(a, w.t().contiguous())


def dense_contract(index: Tensor, w: Tensor, table: Tensor) -> Tensor:
    """``y`` ``(N, C, out)`` by scatter + one matmul (see module docstring)."""
    n_pts, n_ch, n_in, n_slots = w.shape
    _, n_rows, n_out = table.shape
    dense = w.new_zeros(n_pts, n_ch, n_in, n_rows)
    dense = dense.scatter_add(-1, index.unsqueeze(1).expand(w.shape), w)
    y = rows_times(dense.reshape(n_pts * n_ch, n_in * n_rows),
                   table.reshape(n_in * n_rows, n_out))
    return y.reshape(n_pts, n_ch, n_out)


class _SparseContraction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w: Tensor, table: Tensor, cols: Tensor) -> Tensor:
        # w (N, C, L), table (in R, out), cols (N, L) with L = in S
        n_pts, n_ch, n_len = w.shape
        rows = cols.unsqueeze(1).expand(n_pts, n_ch, n_len).reshape(n_pts * n_ch, n_len)
        y = F.embedding_bag(
            rows, table, per_sample_weights=w.reshape(n_pts * n_ch, n_len), mode="sum"
        )
        ctx.save_for_backward(w, table, cols)
        return y.reshape(n_pts, n_ch, table.shape[1])

    @staticmethod
    def backward(ctx, grad_y: Tensor):
        w, table, cols = ctx.saved_tensors
        n_pts, n_ch, n_len = w.shape
        n_table, n_out = table.shape
        g = grad_y.reshape(n_pts * n_ch, n_out).contiguous()
        grad_w = grad_table = None
        if n_pts == 0:
            return torch.zeros_like(w), torch.zeros_like(table), None
        if ctx.needs_input_grad[0]:
            rows = cols.unsqueeze(1).expand(n_pts, n_ch, n_len).reshape(-1)
            crow = torch.arange(n_pts * n_ch + 1, device=cols.device) * n_len
            with warnings.catch_warnings():  # "sparse CSR support is in beta"
                warnings.simplefilter("ignore", UserWarning)
                pattern = torch.sparse_csr_tensor(
                    crow, rows, w.new_zeros(rows.shape[0]), (n_pts * n_ch, n_table),
                    check_invariants=False,
                )
            sampled = torch.sparse.sampled_addmm(pattern, g, table.t(), beta=0.0)
            grad_w = sampled.values().reshape(n_pts, n_ch, n_len)
        if ctx.needs_input_grad[1]:
            # transpose: group the entries by table row (stable sort of the columns), then a
            # weighted row sum of g per table row (embedding_bag with offsets)
            keys, perm = torch.sort(cols.reshape(-1), stable=True)  # (N L,)
            point = torch.div(perm, n_len, rounding_mode="floor")
            channel = torch.arange(n_ch, device=cols.device)
            flat_w = point * (n_ch * n_len) + (perm - point * n_len)  # w[point, 0, l]
            values = torch.take(w, (flat_w.unsqueeze(1) + channel * n_len).reshape(-1))
            sample_rows = (point.unsqueeze(1) * n_ch + channel).reshape(-1)
            counts = torch.bincount(keys, minlength=n_table) * n_ch
            offsets = torch.cumsum(counts, 0) - counts
            grad_table = F.embedding_bag(
                sample_rows, g, offsets, per_sample_weights=values, mode="sum"
            )
        return grad_w, grad_table, None


def sparse_contract(index: Tensor, w: Tensor, table: Tensor) -> Tensor:
    """``y`` ``(N, C, out)`` with cost independent of ``R`` (see module docstring)."""
    n_pts, n_ch, n_in, n_slots = w.shape
    _, n_rows, n_out = table.shape
    cols = _flat_columns(index, n_rows)
    return _SparseContraction.apply(
        w.reshape(n_pts, n_ch, n_in * n_slots), table.reshape(n_in * n_rows, n_out), cols
    )


def edge_contract(
    index: Tensor, values: Tensor, table: Tensor, d1: Tensor, d2: Tensor, outer: Tensor
) -> Tensor:
    """Jet channels through the per-edge derivatives ``Phi`` (cheap when ``out`` is small).

    ``Phi[n, i, q, :] = sum_s values[n, i, q, s] table[i, index[n, i, s], :]`` ``(N, in, 3, out)``
    are ``phi_i^{(q)}(x_i)`` of every edge; then ``y = sum_i Phi_0``,
    ``y'_c = sum_i d1[c, i] Phi_1``, ``y''_p = sum_i d2[p, i] Phi_1 + outer[p, i] Phi_2``.
    Gathers ``(N, in, S, out)`` coefficient rows: cost ``in S out`` per point, independent of
    ``R``. Returns ``(N, 1 + C + P, out)``.
    """
    n_pts, n_in, n_slots = index.shape
    _, n_rows, n_out = table.shape
    cols = _flat_columns(index, n_rows)  # (N, in S)
    if n_out == 1:  # elementwise products beat batched matmuls of 1-column matrices
        # gather from a broadcast view: its backward (scatter_add, then a sum over points)
        # is several times faster on CPU than the accumulating index_put of table[cols]
        flat = table.reshape(1, n_in * n_rows).expand(n_pts, n_in * n_rows)
        rows = flat.gather(1, cols).reshape(n_pts, n_in, 1, n_slots)
        phi = (values * rows).sum(dim=-1)  # (N, in, 3)
        y0 = phi[:, :, 0].sum(dim=1, keepdim=True)  # (N, 1)
        y1 = (d1 * phi[:, None, :, 1]).sum(dim=-1)  # (N, C)
        y2 = torch.addcmul(d2 * phi[:, None, :, 1], outer, phi[:, None, :, 2]).sum(dim=-1)
        return torch.cat([y0, y1, y2], dim=1).unsqueeze(-1)
    rows = table.reshape(n_in * n_rows, n_out).index_select(0, cols.reshape(-1))
    rows = rows.reshape(n_pts, n_in, n_slots, n_out)
    phi = values @ rows  # (N, in, 3, out)
    y0 = phi[:, :, 0].sum(dim=1, keepdim=True)  # (N, 1, out)
    y1 = d1 @ phi[:, :, 1]  # (N, C, out)
    y2 = d2 @ phi[:, :, 1] + outer @ phi[:, :, 2]  # (N, P, out)
    return torch.cat([y0, y1, y2], dim=1)


def choose_contraction(in_features: int, out_features: int, n_functions: int,
                       spline_order: int) -> str:
    """The contraction ``contraction="auto"`` uses for a B-spline layer (measured rule).

    ``"edge"`` when ``out <= EDGE_MAX_OUT`` (a narrow output: gathering coefficient rows is
    cheapest); otherwise ``"sparse"`` when ``n >= SPARSE_MIN_FUNCTIONS`` and ``"dense"``
    below. Thresholds from ``python -m kanpde.bench contraction`` on CPU.
    """
    if out_features <= EDGE_MAX_OUT:
        return "edge"
    if n_functions >= SPARSE_MIN_FUNCTIONS:
        return "sparse"
    return "dense"


#: layers with at most this many outputs use the edge contraction under ``"auto"``
EDGE_MAX_OUT = 2
#: wider layers use the sparse contraction from this many basis functions per input
SPARSE_MIN_FUNCTIONS = 20
