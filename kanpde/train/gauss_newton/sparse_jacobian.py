r"""The residual Jacobian ``J`` ``(R, P)`` stored by its nonzeros, and products with it.

A B-spline KAN edge touches only ``S = k + 1`` of its ``G + k`` coefficients at any point, so
row ``q`` of ``J`` holds, per KAN layer ``(in -> out)``, ``in S out`` spline-coefficient
entries and ``2 in out`` entries of the base and spline scales: about ``(k + 3) / (G + k + 2)``
of the row. :class:`SparseJacobian` keeps ``J`` as row blocks (one per residual term) of
column groups, one group per (layer call, parameter):

* dense group: ``values`` ``(R_t, n)`` over the parameter's ``n`` columns (linear layers,
  base weights, learned coefficients: every row touches every column);
* local group: ``values`` ``(R_t, L, w)`` with ``index`` ``(R_t, L)``: row ``r`` holds the
  entries ``values[r, l, :]`` at columns ``c0 + index[r, l] * w + (0..w-1)`` (a KAN layer's
  spline coefficients ``(in, n, out)`` seen as ``in n`` rows of ``w = out`` columns;
  ``index = i n + slot``). Repeated indices in a row add up (folded copies of the points).

Products cost ``O(nnz)``: ``J v`` gathers ``v``'s rows, ``J^T u`` scatter-adds into them,
``J V`` and ``J^T U`` do the same for blocks of ``s`` vectors (chunked over rows so the
temporaries stay under :data:`CHUNK_ENTRIES` numbers). Memory: ``8 nnz`` bytes for the values
plus ``8 R L`` for the indices. Nothing here knows about PDEs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

CHUNK_ENTRIES = 1 << 24  # numbers in one temporary of a block product


@dataclass
class ColumnGroup:
    """Entries of ``J`` in the columns ``[c0, c0 + size)`` of one row block (module doc)."""

    c0: int
    size: int
    values: Tensor  # dense: (R_t, size); local: (R_t, L, w)
    index: Tensor | None = None  # local: (R_t, L) rows of the (size / w, w) view

    @property
    def width(self) -> int:
        return 1 if self.index is None else self.values.shape[2]

    @property
    def nbytes(self) -> int:
        n = self.values.numel() * self.values.element_size()
        return n + (0 if self.index is None else self.index.numel() * self.index.element_size())

    def _chunks(self, s: int) -> list[slice]:
        r = self.values.shape[0]
        per_row = max(1, self.values[0].numel() * max(s, 1))
        step = max(1, CHUNK_ENTRIES // per_row)
        return [slice(a, min(a + step, r)) for a in range(0, r, step)]


@dataclass
class RowBlock:
    """The rows ``[r0, r0 + n_rows)`` of ``J`` (one residual term) and their groups."""

    r0: int
    n_rows: int
    groups: list[ColumnGroup]

    @property
    def rows(self) -> slice:
        return slice(self.r0, self.r0 + self.n_rows)


class SparseJacobian:
    """``J`` ``(n_rows, n_params)`` by its nonzeros (module docstring); float64 or the
    dtype of the values given. Products accept and return tensors of the values' dtype."""

    def __init__(self, n_rows: int, n_params: int, blocks: list[RowBlock]) -> None:
        self.n_rows = int(n_rows)
        self.n_params = int(n_params)
        self.blocks = blocks
        self.shape = (self.n_rows, self.n_params)

    @property
    def nbytes(self) -> int:
        return sum(g.nbytes for b in self.blocks for g in b.groups)

    @property
    def nnz(self) -> int:
        """Stored entries (zeros of masked slots included)."""
        return sum(g.values.numel() for b in self.blocks for g in b.groups)

    def _like(self) -> Tensor:
        for b in self.blocks:
            for g in b.groups:
                return g.values
        return torch.zeros(0, dtype=torch.float64)

    # ------------------------------------------------------------------ products
    def mv(self, v: Tensor) -> Tensor:
        """``J v`` ``(R,)`` for ``v`` ``(P,)``."""
        return self.mm(v.unsqueeze(1)).squeeze(1)

    def rmv(self, u: Tensor) -> Tensor:
        """``J^T u`` ``(P,)`` for ``u`` ``(R,)``."""
        return self.rmm(u.unsqueeze(1)).squeeze(1)

    def mm(self, v: Tensor) -> Tensor:
        """``J V`` ``(R, s)`` for ``V`` ``(P, s)``."""
        if v.shape[0] != self.n_params:
            raise ValueError(f"J V: V has {v.shape[0]} rows, J has {self.n_params} columns")
        s = v.shape[1]
        out = v.new_zeros(self.n_rows, s)
        for b in self.blocks:
            dest = out[b.rows]
            for g in b.groups:
                part = v[g.c0 : g.c0 + g.size]
                if g.index is None:
                    dest += g.values @ part
                    continue
                vb = part.reshape(-1, g.width, s)  # (rows of the view, w, s)
                for c in g._chunks(s):
                    gathered = vb[g.index[c]]  # (r, L, w, s)
                    dest[c] += torch.einsum("rlw,rlws->rs", g.values[c], gathered)
        return out

    def rmm(self, u: Tensor) -> Tensor:
        """``J^T U`` ``(P, s)`` for ``U`` ``(R, s)``."""
        if u.shape[0] != self.n_rows:
            raise ValueError(f"J^T U: U has {u.shape[0]} rows, J has {self.n_rows}")
        s = u.shape[1]
        out = u.new_zeros(self.n_params, s)
        for b in self.blocks:
            src = u[b.rows]
            for g in b.groups:
                dest = out[g.c0 : g.c0 + g.size]
                if g.index is None:
                    dest += g.values.T @ src
                    continue
                db = dest.view(-1, g.width, s)
                for c in g._chunks(s):
                    contrib = g.values[c].unsqueeze(-1) * src[c].view(-1, 1, 1, s)
                    db.index_add_(0, g.index[c].reshape(-1), contrib.reshape(-1, g.width, s))
        return out

    def column_sq_norms(self) -> Tensor:
        """``diag(J^T J)`` ``(P,)`` (exact where no column repeats within a row)."""
        out = self._like().new_zeros(self.n_params)
        for b in self.blocks:
            for g in b.groups:
                dest = out[g.c0 : g.c0 + g.size]
                if g.index is None:
                    dest += g.values.pow(2).sum(dim=0)
                else:
                    dest.view(-1, g.width).index_add_(
                        0, g.index.reshape(-1), g.values.pow(2).reshape(-1, g.width))
        return out

    def to(self, dtype: torch.dtype) -> SparseJacobian:
        """The same ``J`` with values of ``dtype`` (itself when they already are)."""
        if self._like().dtype == dtype:
            return self
        blocks = [RowBlock(b.r0, b.n_rows, [ColumnGroup(g.c0, g.size, g.values.to(dtype),
                                                        g.index) for g in b.groups])
                  for b in self.blocks]
        return SparseJacobian(self.n_rows, self.n_params, blocks)

    def to_dense(self) -> Tensor:
        """``J`` as a dense ``(R, P)`` tensor (tests, small sizes)."""
        eye = torch.eye(self.n_params, dtype=self._like().dtype, device=self._like().device)
        return self.mm(eye)


# ---------------------------------------------------------------------------- assembly
def _is_local(rec, name: str) -> bool:
    """The parameter ``name`` of the recorded call has local per-point blocks (the spline
    coefficients of a KAN layer on a basis of local support)."""
    return (rec.kind == "kan" and name == "spline_coef"
            and rec.layer.basis.local_size is not None)


def _fold_block(blk, m: int, copies: int) -> tuple[Tensor, Tensor | None]:
    """A :class:`~kanpde.models.tape.JacobianBlock` of ``copies m`` evaluation rows as the
    entries of ``m`` residual rows: dense ``(m, n)`` (copies summed), or local ``values``
    ``(m, copies in S, w)`` with rows ``index`` ``(m, copies in S)`` of the ``(in n, w)``
    view of the parameter (copies side by side)."""
    if blk.index is None:
        v = blk.values
        return (v.reshape(copies, m, -1).sum(dim=0) if copies > 1 else v), None
    _, n_in, s, w = blk.values.shape
    n = blk.shape[1]
    rows = blk.index + (torch.arange(n_in, device=blk.index.device) * n).view(1, n_in, 1)
    values = blk.values.reshape(copies, m, n_in * s, w).transpose(0, 1)
    index = rows.reshape(copies, m, n_in * s).transpose(0, 1)
    return values.reshape(m, copies * n_in * s, w), index.reshape(m, -1)


def _stack_components(c0: int, size: int, per_k: list) -> ColumnGroup:
    """One column group of a term's ``m K`` rows (point-major) from the blocks of each
    residual component (None: that component does not reach the parameter: zeros)."""
    ref = next(p for p in per_k if p is not None)
    values = torch.stack([torch.zeros_like(ref[0]) if p is None else p[0] for p in per_k],
                         dim=1)  # (m, K, ...)
    values = values.reshape(-1, *ref[0].shape[1:])
    index = ref[1]
    if index is not None and len(per_k) > 1:
        index = index.repeat_interleave(len(per_k), dim=0)
    return ColumnGroup(c0, size, values, index)


@torch.no_grad()
def assemble(lin) -> SparseJacobian:
    """``J`` of a tape-mode :class:`.linearize.Linearization` by its nonzeros:
    per term one row block, per (layer call, parameter) one column group; a KAN layer's
    spline coefficients as local groups of ``in (k + 1)`` rows of ``out`` columns; the
    parameters outside the recorded layers as dense groups over every row."""
    terms: dict[int, tuple] = {}
    for t, kk, rec, copies, blocks in lin.call_blocks():
        m, k = t.shape
        entry = terms.setdefault(id(t), (t, {}))
        for j, (c0, size, blk) in enumerate(blocks):
            parts = entry[1].setdefault((id(rec), j), (c0, size, [None] * k))[2]
            parts[kk] = _fold_block(blk, m, copies)
    out = [RowBlock(t.offset, t.shape[0] * t.shape[1],
                    [_stack_components(c0, size, per_k) for c0, size, per_k in groups.values()])
           for t, groups in terms.values()]
    extra = [ColumnGroup(c0, cols.shape[1], cols.contiguous())
             for c0, cols in lin.extra_columns()]
    if extra:
        out.append(RowBlock(0, lin.n_rows, extra))
    return SparseJacobian(lin.n_rows, lin.n_params, out)


def stored_bytes(lin, n_extra: int) -> int:
    """float64 bytes :func:`assemble` stores for ``lin`` (from the recorded shapes)."""
    total = lin.n_rows * n_extra * 8
    for t, rec, own in lin.recorded_calls():
        m, k = t.shape
        copies = rec.n_points // max(m, 1)
        for name, p in own:
            if _is_local(rec, name):
                n_in, s = rec.layer.in_features, rec.layer.basis.local_size
                total += m * k * copies * n_in * s * (p.shape[-1] * 8 + 8)
            else:
                total += m * k * p.numel() * 8
    return total
