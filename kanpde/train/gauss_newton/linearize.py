r"""The PINN loss as a sum of squares, and its linear model (what Gauss-Newton solves with).

With the step's term, RBA and causal weights held fixed (the row factors ``s_t`` of
:meth:`kanpde.train.weighting.LossBalancer.row_scales`), the loss is

    L(theta) = ||rho(theta)||^2,      rho = ( s_t[i] r_t[i, k] )   (R,)

over the terms ``t`` (the PDE residual, then each condition), points ``i`` and residual
components ``k``, in that order. Gauss-Newton methods minimize the linear model
``||rho + J delta||^2`` with ``J = d rho / d theta`` ``(R, P)``. :func:`linearize` gives
``rho`` and access to ``J`` in one of three modes:

``tape`` (the jets engine, every trainable parameter in a layer :mod:`kanpde.models.tape`
    records): each term's residual is computed once with the layer calls recorded; one
    backward pass per residual component gives every call's output cotangents. The explicit
    ``J`` is assembled from per-point layer blocks (:meth:`Linearization.jacobian`), ``J v``
    from the layers' tangents (:meth:`Linearization.jvp`), ``J^T u`` by a backward pass.
``func`` (any model and residual that :mod:`torch.func` can transform): the residuals by the
    ``func`` derivative engine and the explicit ``J`` by one ``vmap`` over the points of
    ``jacrev`` over the parameters (:mod:`.func_jacobian`); ``J v`` and ``J^T u`` are products
    with it.
``autograd`` (any model, any derivative engine): ``J^T u`` by a backward pass and ``J v`` by
    the double-backward trick (``d/dw <J^T w, v>``), with KAN layers on their twice
    differentiable PyTorch contractions; matrix-free only (no explicit ``J``).

Parameters outside the recorded layers (tape mode) or outside the model (func mode), such as
a problem's learned coefficients (at most ``MAX_EXTRA`` numbers), get their columns of ``J``
by the double-backward trick, one backward pass each:
``J[:, c] = d/dw (d <rho(theta), w> / d theta_c)``.

Row folding: a term evaluated on ``M`` stored points may run the model on ``Q = c M`` points
(a periodic condition evaluates each point pair as its low-face point in the first ``M`` rows
and its high-face point in the next ``M``): evaluation row ``q`` feeds residual row
``q mod M``, so per-point blocks of ``c M`` rows are summed over the ``c`` copies.

Over 400 lines: one concept, the linearization in its three modes, whose products share the
term layout and the extra columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from kanpde.models.kan.fused_jet import twice_differentiable
from kanpde.models.tape import Record, Tape, jacobian_blocks, tangent
from kanpde.train.gauss_newton.func_jacobian import (
    FuncUnsupported,
    fill_term_jacobian,
    model_columns,
    term_residual,
)
from kanpde.train.gauss_newton.sparse_jacobian import SparseJacobian, assemble, stored_bytes

MODES = ("tape", "func", "autograd")
MAX_EXTRA = 64  # tape mode: parameters outside the recorded layers (columns by autograd)


class TapeUnsupported(RuntimeError):
    """The model or the derivatives of this problem cannot be linearized from a tape."""


__all__ = ["MODES", "FuncUnsupported", "Linearization", "TapeUnsupported", "linearize"]


@dataclass
class _Term:
    name: str
    offset: int  # first row of the term in rho
    r: Tensor  # (M, K), with the graph
    scale: Tensor  # (M,)
    records: list[Record] = field(default_factory=list)
    cotangents: list[list[tuple[Tensor | None, ...]]] = field(default_factory=list)  # [k][rec]

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.r.shape)  # type: ignore[return-value]

    @property
    def rows(self) -> slice:
        m, k = self.shape
        return slice(self.offset, self.offset + m * k)


def _fold(block: Tensor, m: int, what: str) -> Tensor:
    """Rows ``q`` of ``block`` ``(Q, ...)`` summed into rows ``q mod m``: ``(m, ...)``."""
    q = block.shape[0]
    if q == m:
        return block
    if q % m:
        raise TapeUnsupported(
            f"{what}: the model was evaluated on {q} points for {m} residual rows (expected a "
            "multiple: one block of rows per evaluated copy of the points)"
        )
    return block.reshape(q // m, m, *block.shape[1:]).sum(dim=0)


class Linearization:
    """``rho`` at the current parameters and products with its Jacobian (module docstring).

    Attributes:
        rho: ``(R,)`` detached. pointwise: ``{term: (M, K)}`` detached residuals.
        params: the ``P_total`` parameters, flattened and concatenated in this order.
        mode: ``"tape"``, ``"func"`` or ``"autograd"``.

    ``dense`` (func mode): ``J`` ``(R, P)`` with the columns of the model's parameters filled
    and those of ``covered``'s complement (the extra columns) zero, filled on first use.
    """

    def __init__(self, terms: list[_Term], params: Sequence[nn.Parameter], mode: str,
                 dense: Tensor | None = None, covered: set[int] | None = None) -> None:
        self._terms = terms
        self.params = list(params)
        self.mode = mode
        self.rho = torch.cat([(t.r.detach() * t.scale.unsqueeze(1)).reshape(-1) for t in terms])
        self.pointwise = {t.name: t.r.detach() for t in terms}
        self._offsets: dict[int, int] = {}
        off = 0
        for p in self.params:
            self._offsets[id(p)] = off
            off += p.numel()
        self.n_params = off
        self._h: tuple[Tensor, list[Tensor], list[int]] | None = None  # autograd: J^T w
        self._extra: list[nn.Parameter] = []
        self._extra_cols: Tensor | None = None  # (R, n_extra), computed on first use
        self._dense = dense
        self._dense_done = False
        if mode in ("tape", "func"):
            if mode == "tape":
                covered = {id(p) for t in terms for rec in t.records
                           for p in rec.layer.parameters(recurse=False)}
            covered = covered or set()
            self._extra = [p for p in self.params if id(p) not in covered]
            n_extra = sum(p.numel() for p in self._extra)
            if n_extra > MAX_EXTRA:
                where = "the recorded layers" if mode == "tape" else "the model"
                raise (TapeUnsupported if mode == "tape" else FuncUnsupported)(
                    f"{n_extra} parameters lie outside {where} (at most {MAX_EXTRA} get their "
                    "Jacobian columns by autograd)"
                )

    def _dot(self, w: Tensor) -> Tensor | None:
        """``<rho(theta), w>`` with its graph (None when no term depends on the parameters)."""
        total = None
        for t in self._terms:
            if t.r.requires_grad:
                m, k = t.shape
                part = (t.r * t.scale.unsqueeze(1) * w[t.rows].view(m, k)).sum()
                total = part if total is None else total + part
        return total

    def _extra_columns(self) -> Tensor:
        """``J``'s columns of the parameters outside the recorded layers: ``(R, n_extra)``
        in the order of :attr:`_extra` (module docstring)."""
        if self._extra_cols is None:
            with torch.enable_grad():
                self._extra_cols = self._extra_columns_now()
        return self._extra_cols

    def _extra_columns_now(self) -> Tensor:
        cols: list[Tensor] = []
        w = torch.zeros_like(self.rho, requires_grad=True)
        total = self._dot(w)
        grads = (torch.autograd.grad(total, self._extra, create_graph=True,
                                     allow_unused=True)
                 if total is not None else [None] * len(self._extra))
        for g, p in zip(grads, self._extra, strict=True):
            flat = None if g is None else g.reshape(-1)
            for i in range(p.numel()):
                col = None
                if flat is not None and flat[i].requires_grad:
                    (col,) = torch.autograd.grad(flat[i], w, retain_graph=True,
                                                 allow_unused=True)
                cols.append(torch.zeros_like(self.rho) if col is None else col.detach())
        return torch.stack(cols, dim=1) if cols else self.rho.new_zeros(self.n_rows, 0)

    def _extra_index(self) -> Tensor:
        """Columns of ``J`` (in ``params`` order) of :attr:`_extra`, flattened."""
        idx = [torch.arange(self._offsets[id(p)], self._offsets[id(p)] + p.numel())
               for p in self._extra]
        return torch.cat(idx) if idx else torch.zeros(0, dtype=torch.long)

    def output_call(self) -> Record | None:
        """The last recorded layer call of the PDE residual term (the output layer), if any."""
        for t in self._terms:
            if t.name == "residual" and t.records:
                return t.records[-1]
        return None

    @property
    def n_rows(self) -> int:
        return self.rho.shape[0]

    @property
    def loss(self) -> float:
        """``||rho||^2`` on this process's points."""
        return float(self.rho.pow(2).sum())

    def split(self, v: Tensor) -> list[Tensor]:
        """``v`` ``(P,)`` as tensors shaped like the parameters."""
        return [chunk.view_as(p) for chunk, p in
                zip(v.split([p.numel() for p in self.params]), self.params, strict=True)]

    def _columns(self, rec: Record) -> list[tuple[str, int, int] | None]:
        """Per parameter of ``rec.layer`` (own, in order): (name, column, size) or None."""
        out: list[tuple[str, int, int] | None] = []
        for name, p in rec.layer.named_parameters(recurse=False):
            col = self._offsets.get(id(p))
            out.append(None if col is None else (name, col, p.numel()))
        return out

    # ------------------------------------------------------------------ products
    def call_blocks(self):
        """Per term and residual component, per recorded call: ``(t, kk, rec, copies,
        [(c0, size, JacobianBlock)])`` for the call's parameters that are columns of ``J``,
        the cotangents scaled by the row factors (``J`` is linear in them). ``t`` has
        ``offset``, ``shape`` ``(M, K)`` and ``name``; the call ran on ``copies M`` points."""
        for t in self._terms:
            m, _ = t.shape
            for kk in range(len(t.cotangents)):
                for rec, cot in zip(t.records, t.cotangents[kk], strict=True):
                    if all(c is None for c in cot):
                        continue
                    copies = rec.n_points // m
                    if copies * m != rec.n_points:
                        _fold(rec.outputs[0], m, t.name)  # raises the explanatory error
                    s = t.scale.repeat(copies)
                    scaled = [None if c is None else c * s.view(-1, *([1] * (c.dim() - 1)))
                              for c in cot]
                    yield t, kk, rec, copies, [
                        (col[1], col[2], blk) for col, blk in
                        zip(self._columns(rec), jacobian_blocks(rec, scaled), strict=True)
                        if col is not None]

    @torch.no_grad()
    def jacobian(self, out: Tensor | None = None) -> Tensor:
        """The explicit ``J`` ``(R, P)`` (tape mode), into ``out`` (zeros) when given: the
        layer blocks of :meth:`call_blocks` added into their rows and columns; in func mode
        the stored one (copied into ``out`` when given)."""
        if self.mode == "autograd":
            raise TapeUnsupported("the explicit Jacobian needs the tape or func mode")
        if out is not None and out.shape != (self.n_rows, self.n_params):
            raise ValueError(f"out must have shape {(self.n_rows, self.n_params)}, got "
                             f"{tuple(out.shape)}")
        if self.mode == "func":
            return self._func_jacobian() if out is None else out.copy_(self._func_jacobian())
        jac = self.rho.new_zeros(self.n_rows, self.n_params) if out is None else out
        for t, kk, _, _, blocks in self.call_blocks():
            m, k = t.shape
            rows = jac[t.rows].view(m, k, self.n_params)
            for c0, size, blk in blocks:
                blk.add_to(rows[:, kk, c0 : c0 + size], m)
        if self._extra:
            jac[:, self._extra_index().to(jac.device)] = self._extra_columns()
        return jac

    def _func_jacobian(self) -> Tensor:
        """The stored ``J`` of func mode, its extra columns filled on first use."""
        assert self._dense is not None
        if not self._dense_done:
            if self._extra:
                self._dense[:, self._extra_index().to(self._dense.device)] = self._extra_columns()
            self._dense_done = True
        return self._dense

    def recorded_calls(self):
        """Per term, per recorded call: ``(t, rec, [(name, parameter)])`` of the call's
        parameters that are columns of ``J`` (nothing computed)."""
        for t in self._terms:
            for rec in t.records:
                own = [(name, p) for col, (name, p) in
                       zip(self._columns(rec), rec.layer.named_parameters(recurse=False),
                           strict=True) if col is not None]
                yield t, rec, own

    def extra_columns(self) -> list[tuple[int, Tensor]]:
        """The columns of the parameters outside the recorded layers: ``(c0, (R, n))`` each."""
        if not self._extra:
            return []
        cols, out, j = self._extra_columns(), [], 0
        for p in self._extra:
            out.append((self._offsets[id(p)], cols[:, j : j + p.numel()]))
            j += p.numel()
        return out

    def jacobian_nbytes(self, sparse: bool) -> int:
        """float64 bytes of the explicit ``J``: dense ``8 R P``, or those of
        :meth:`sparse_jacobian` (computed from the recorded shapes, nothing built)."""
        if not sparse or self.mode == "func":
            return 8 * self.n_rows * self.n_params
        return stored_bytes(self, sum(p.numel() for p in self._extra))

    @torch.no_grad()
    def sparse_jacobian(self) -> SparseJacobian:
        """``J`` by its nonzeros (tape mode; :func:`.sparse_jacobian.assemble`)."""
        if self.mode != "tape":
            raise TapeUnsupported("the explicit Jacobian needs the tape mode")
        return assemble(self)

    def jvp(self, v: Tensor) -> Tensor:
        """``J v`` ``(R,)`` for ``v`` ``(P,)``."""
        if self.mode == "func":
            return self._func_jacobian() @ v.to(self.rho)
        if self.mode == "autograd":
            w, h, used = self._double_backward_graph()
            if not h:
                return torch.zeros_like(self.rho)
            parts = self.split(v)
            (out,) = torch.autograd.grad(h, w, grad_outputs=[parts[i] for i in used],
                                         retain_graph=True, allow_unused=True)
            return torch.zeros_like(self.rho) if out is None else out.detach()
        out = torch.zeros_like(self.rho)
        parts = {id(p): part for p, part in zip(self.params, self.split(v), strict=True)}
        for t in self._terms:
            m, k = t.shape
            rows = out[t.rows].view(m, k)
            for ri, rec in enumerate(t.records):
                direction = {name: parts[id(p)]
                             for name, p in rec.layer.named_parameters(recurse=False)
                             if id(p) in parts}
                if not direction:
                    continue
                tan = tangent(rec, direction)
                for kk, cots in enumerate(t.cotangents):
                    acc = None
                    for g, d in zip(cots[ri], (tan.value, tan.d1, tan.d2), strict=True):
                        if g is not None:
                            term = (g * d).reshape(g.shape[0], -1).sum(dim=1)
                            acc = term if acc is None else acc + term
                    if acc is not None:
                        rows[:, kk] += _fold(acc, m, t.name)
            rows.mul_(t.scale.unsqueeze(1))
        if self._extra:
            out += self._extra_columns() @ v[self._extra_index().to(v.device)]
        return out

    def vjp(self, u: Tensor) -> Tensor:
        """``J^T u`` ``(P,)`` for ``u`` ``(R,)`` (a backward pass; a product in func mode)."""
        if self.mode == "func":
            return self._func_jacobian().T @ u.to(self.rho)
        return self.vjp_backward(u)

    def vjp_backward(self, u: Tensor) -> Tensor:
        """``J^T u`` ``(P,)`` by a backward pass through the residuals' graph (any mode)."""
        total = None
        for t in self._terms:
            if not t.r.requires_grad:
                continue
            m, k = t.shape
            w = (u[t.rows].view(m, k) * t.scale.unsqueeze(1)).detach()
            part = (t.r * w).sum()
            total = part if total is None else total + part
        if total is None:
            return self.rho.new_zeros(self.n_params)
        grads = torch.autograd.grad(total, self.params, retain_graph=True, allow_unused=True)
        return torch.cat([torch.zeros(p.numel(), dtype=self.rho.dtype, device=self.rho.device)
                          if g is None else g.reshape(-1).to(self.rho.dtype)
                          for g, p in zip(grads, self.params, strict=True)])

    def _double_backward_graph(self) -> tuple[Tensor, list[Tensor], list[int]]:
        """``w`` ``(R,)``, the parts of ``J^T w`` that depend on ``w`` (with their graph) and
        the indices of their parameters (cached)."""
        if self._h is None:
            w = torch.zeros_like(self.rho, requires_grad=True)
            total = self._dot(w)
            h: list[Tensor] = []
            used: list[int] = []
            if total is not None:
                grads = torch.autograd.grad(total, self.params, create_graph=True,
                                            allow_unused=True)
                for i, g in enumerate(grads):
                    if g is not None and g.requires_grad:
                        h.append(g)
                        used.append(i)
            self._h = (w, h, used)
        return self._h


def _cotangents(r: Tensor, records: list[Record]) -> list[list[tuple[Tensor | None, ...]]]:
    """Per residual component ``k``, per record: the cotangents of its output jet."""
    outs = [t for rec in records for t in rec.outputs]
    wanted = [i for i, t in enumerate(outs) if t.requires_grad]
    result = []
    for kk in range(r.shape[1]):
        grads: list[Tensor | None] = [None] * len(outs)
        if wanted and r.requires_grad:
            got = torch.autograd.grad(r[:, kk].sum(), [outs[i] for i in wanted],
                                      retain_graph=True, allow_unused=True)
            for i, g in zip(wanted, got, strict=True):
                grads[i] = g
        result.append([tuple(grads[3 * j : 3 * j + 3]) for j in range(len(records))])
    return result


def linearize(
    problem,
    model: nn.Module,
    points: Mapping[str, Tensor],
    scales: Mapping[str, Tensor] | None,
    row_scales,
    params: Sequence[nn.Parameter],
    *,
    mode: str = "tape",
    engine: str = "jets",
    max_bytes: float = float("inf"),
) -> tuple[Linearization, dict[str, Tensor]]:
    """Residuals and their linearization at the model's current parameters.

    Args:
        problem: a :class:`kanpde.pde.Problem`; ``points`` ``{term: (M, dim_in)}``.
        scales: the row factors ``{term: (M,)}``; None: computed from this evaluation by
            ``row_scales(pointwise, x_residual)`` (and returned, to hold them fixed).
        params: the parameters of ``J``'s columns.
        mode: ``"tape"``, ``"func"`` or ``"autograd"`` (module docstring); ``engine`` the
            derivative engine (the tape needs ``"jets"``; func mode uses ``"func"``).
        max_bytes: func mode: the largest ``J`` (``8 R P`` bytes) to form.

    Raises:
        TapeUnsupported: tape mode, but the recorded calls do not determine ``J``.
        FuncUnsupported: func mode, but the residuals do not run under ``torch.func`` or
            ``J`` would take more than ``max_bytes``.
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}; allowed values: {MODES}")
    residuals: dict[str, tuple[Tensor, list[Record]]] = {}
    for term, pts in points.items():
        if mode == "tape":
            with Tape() as tape:
                r = problem.pointwise(model, {term: pts}, engine=engine)[term]
            if tape.unsupported:
                raise TapeUnsupported(f"term {term!r}: " + "; ".join(tape.unsupported))
            residuals[term] = (r, tape.records)
        elif mode == "func":
            residuals[term] = (term_residual(problem, model, term, pts), [])
        else:
            with twice_differentiable():
                r = problem.pointwise(model, {term: pts}, engine=engine)[term]
            residuals[term] = (r, [])
    if scales is None:
        scales = row_scales({t: r.detach() for t, (r, _) in residuals.items()},
                            points["residual"])
    terms, offset = [], 0
    for name, (r, records) in residuals.items():
        t = _Term(name, offset, r, scales[name].to(r), records)
        if mode == "tape":
            t.cotangents = _cotangents(r, records)
        terms.append(t)
        offset += r.numel()
    if mode != "func":
        return Linearization(terms, params, mode), dict(scales)
    return _func_linearization(problem, model, points, terms, params, max_bytes), dict(scales)


def _func_linearization(problem, model, points, terms: list[_Term], params, max_bytes: float
                        ) -> Linearization:
    """Func mode: ``J`` ``(R, P)`` filled term by term by
    :func:`.func_jacobian.fill_term_jacobian` (rows scaled)."""
    named = model_columns(model, params)
    n_rows = sum(t.r.numel() for t in terms)
    n_params = sum(p.numel() for p in params)
    if 8 * n_rows * n_params > max_bytes:
        raise FuncUnsupported(
            f"the explicit Jacobian ({n_rows} x {n_params}) would take "
            f"{8 * n_rows * n_params / 2**30:.2f} GiB, above the step's memory budget")
    offsets, off = {}, 0
    for p in params:
        offsets[id(p)] = off
        off += p.numel()
    dense = terms[0].r.new_zeros(n_rows, n_params)
    for t in terms:
        fill_term_jacobian(problem, model, t.name, points[t.name], named,
                           [offsets[id(p)] for _, p in named], t.scale, dense[t.rows])
    return Linearization(terms, params, "func", dense=dense, covered={id(p) for _, p in named})
