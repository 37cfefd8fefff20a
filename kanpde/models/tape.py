r"""Per-point parameter Jacobians of a network's output jets, recorded layer by layer.

Gauss-Newton training needs ``J[q, :] = d r_q / d theta`` for a residual vector ``r`` whose
row ``q`` depends on the network only through its output jet at its own point(s). Inside
``with Tape() as tape:`` every parameterized layer that maps jets (:class:`KANLayer`, and the
linear layers of :class:`MLP`, :class:`SIREN` and :class:`FourierMLP` through
:func:`linear_jet`) appends a :class:`Record`: its input jet (detached) and its output jet
(in the graph). One backward pass of ``sum_q r_q`` to the recorded outputs then gives, per
call ``l``, the cotangents ``g_l = (g_value (N, out), g_1 (N, C, out), g_2 (N, P, out))``;
points do not interact, so ``g_l[q] = d r_q / d out_l[q]`` and

    J_l[q, :] = sum_{channel, o} g_l[q, channel, o] d out_l[q, channel, o] / d theta_l

is formed in closed form from the recorded input jet (:func:`jacobian`):

KAN layer, ``W = mask w_spline c`` ``(in, n, out)``, ``wb = mask w_base`` ``(in, out)``,
``B^(k)_m`` the basis functions and ``b^(k)`` the base activation with their derivatives:

    A_0[q, i, o] = g_value[q, o]
    A_1[q, i, o] = sum_c d1[q, c, i] g_1[q, c, o] + sum_p d2[q, p, i] g_2[q, p, o]
    A_2[q, i, o] = sum_p d1[q, a_p, i] d1[q, b_p, i] g_2[q, p, o]
    dr_q/dW[i, m, o] = sum_k B^(k)_m(x_qi) A_k[q, i, o],   dr_q/dwb[i, o] = sum_k b^(k)(x_qi) A_k

then ``dr/dc = dr/dW w_spline mask``, ``dr/dw_spline = sum_m dr/dW c mask``,
``dr/dw_base = dr/dwb mask``.

Linear layer ``y = s (x W^T + b)`` on every channel (the bias on the value only):

    dr_q/dW[o, i] = s (g_value[q, o] x[q, i] + sum_c g_1[q, c, o] x1[q, c, i]
                       + sum_p g_2[q, p, o] x2[q, p, i]),      dr_q/db[o] = s g_value[q, o]

:func:`tangent` gives the directional derivative of a call's output jet along a parameter
direction (every layer output is linear in ``W, wb`` or ``W, b``), which matrix-free
Gauss-Newton contracts with the cotangents for ``J v``. Nothing here knows about PDEs.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from kanpde.core.jet import Jet

_state = threading.local()


@dataclass
class Record:
    """One recorded layer call: the layer, its input jet (detached), its output jet (with the
    graph) and, for a linear layer, the scale ``s`` of ``y = s (x W^T + b)``."""

    layer: nn.Module
    kind: str  # "kan" | "linear": the rule of :func:`jacobian` and :func:`tangent`
    jet_in: Jet
    out: Jet
    scale: float = 1.0

    @property
    def outputs(self) -> tuple[Tensor, Tensor, Tensor]:
        return self.out.value, self.out.d1, self.out.d2

    @property
    def n_points(self) -> int:
        return self.jet_in.value.shape[0]


class Tape:
    """Records the jet calls of parameterized layers in this thread (see the module doc).

    ``unsupported`` holds the reasons, if any, why the recorded calls do not determine the
    Jacobian (for instance derivatives taken by nested autograd, whose dependence on the
    parameters does not pass through the layer outputs alone).
    """

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.unsupported: list[str] = []
        self._previous: Tape | None = None

    def __enter__(self) -> Tape:
        self._previous = active_tape()
        _state.tape = self
        return self

    def __exit__(self, *exc) -> None:
        _state.tape = self._previous

    def mark_unsupported(self, reason: str) -> None:
        if reason not in self.unsupported:
            self.unsupported.append(reason)

    def parameters(self) -> list[nn.Parameter]:
        """The trainable parameters of the recorded layers (each once, in call order)."""
        seen: dict[int, nn.Parameter] = {}
        for rec in self.records:
            for p in rec.layer.parameters(recurse=False):
                if p.requires_grad:
                    seen.setdefault(id(p), p)
        return list(seen.values())


def active_tape() -> Tape | None:
    """The tape recording in this thread, or None."""
    return getattr(_state, "tape", None)


def _detached(jet: Jet) -> Jet:
    return Jet(jet.value.detach(), jet.d1.detach(), jet.d2.detach(), jet.pairs)


KINDS = ("kan", "linear")


def record(layer: nn.Module, kind: str, jet_in: Jet, out: Jet, scale: float = 1.0) -> Jet:
    """Append a :class:`Record` to the active tape (if any); returns ``out`` unchanged.

    ``kind``: ``"kan"`` for a :class:`~kanpde.models.KANLayer`, ``"linear"`` for an
    ``nn.Linear`` used as ``y = scale (x W^T + b)``."""
    tape = active_tape()
    if tape is not None:
        if kind not in KINDS:
            raise ValueError(f"unknown layer kind {kind!r}; allowed values: {KINDS}")
        tape.records.append(Record(layer, kind, _detached(jet_in), out, float(scale)))
    return out


def linear_jet(jet: Jet, layer: nn.Linear, scale: float = 1.0) -> Jet:
    """Jet of ``scale * (value W^T + b)`` for an ``nn.Linear`` ``layer`` (recorded)."""
    bias = None if layer.bias is None else layer.bias * scale
    weight = layer.weight.t() if scale == 1.0 else layer.weight.t() * scale
    return record(layer, "linear", jet, jet.map_linear(weight, bias), scale)


# ---------------------------------------------------------------------------- the rules
def _channel_cotangents(jet: Jet, g1: Tensor, g2: Tensor, order: int) -> list[Tensor]:
    """``[A_1, A_2]`` ``(N, in, out)`` of the module docstring (those up to ``order``)."""
    out = []
    if order >= 1:
        a1 = torch.einsum("nci,nco->nio", jet.d1, g1)
        if jet.d2.shape[1]:
            a1 = a1 + torch.einsum("npi,npo->nio", jet.d2, g2)
        out.append(a1)
    if order >= 2:
        out.append(torch.einsum("npi,npo->nio", jet.outer_d1(), g2))
    return out


def _order(jet: Jet) -> int:
    """The highest input-derivative order a call's cotangents can reach: 0 (value only),
    1 (first derivatives) or 2."""
    if jet.d2.shape[1]:
        return 2
    return 1 if jet.d1.shape[1] else 0


@dataclass
class JacobianBlock:
    """Per-point derivatives of a recorded call's residual rows with respect to one of its
    layer's parameters. Dense: ``values`` ``(Q, numel)``. Local (the spline coefficients
    ``(in, n, out)`` of a B-spline KAN layer): ``values`` ``(Q, in, S, out)`` at the
    coefficient rows ``index`` ``(Q, in, S)`` (``S = k + 1`` slots; masked slots carry 0)."""

    values: Tensor
    index: Tensor | None = None
    shape: tuple[int, ...] = ()  # the parameter's shape (local blocks)

    def dense(self) -> Tensor:
        """``(Q, numel)``."""
        if self.index is None:
            return self.values
        out = self.values.new_zeros(self.values.shape[0], *self.shape)
        self.add_to(out.view(self.values.shape[0], -1), self.values.shape[0])
        return out.reshape(self.values.shape[0], -1)

    def add_to(self, dest: Tensor, m: int) -> None:
        """``dest[q mod m] += block[q]``: ``dest`` ``(m, numel)`` (any row stride); ``Q`` a
        multiple of ``m`` (one block of rows per evaluated copy of the points)."""
        q = self.values.shape[0]
        if q % m:
            raise ValueError(f"{q} evaluation rows do not fold into {m} residual rows")
        for c in range(q // m):
            part = self.values[c * m : (c + 1) * m]
            if self.index is None:
                dest += part
            else:
                idx = self.index[c * m : (c + 1) * m].unsqueeze(-1).expand_as(part)
                dest.view(m, *self.shape).scatter_add_(2, idx, part)


def _kan_jacobian(rec: Record, g: Sequence[Tensor]) -> list[JacobianBlock]:
    layer = rec.layer
    jet = rec.jet_in
    x = jet.value
    n_pts, n_in, n_out = x.shape[0], layer.in_features, layer.out_features
    order = _order(jet)
    a = [g[0].unsqueeze(1).expand(n_pts, n_in, n_out), *_channel_cotangents(jet, g[1], g[2],
                                                                            order)]
    acts = layer.activation.with_derivatives(x)[: order + 1]  # b, b', b'' (N, in)
    jwb = sum(b.unsqueeze(-1) * ak for b, ak in zip(acts, a, strict=True))  # (N, in, out)
    basis = layer.basis
    ak = torch.stack(a, dim=2)  # (N, in, K, out)
    mask_e = layer.edge_mask
    coef_scale = (layer.spline_scale * mask_e).unsqueeze(1)  # (in, 1, out)
    if basis.local_size is None:  # global basis: dense values (N, in, K, n)
        values = torch.stack(basis.evaluate(x, order), dim=2)
        jw = torch.einsum("nikm,niko->nimo", values, ak)  # (N, in, n, out)
        coef = JacobianBlock((jw * coef_scale).reshape(n_pts, -1))
        j_scale = (jw * layer.spline_coef).sum(dim=2) * mask_e
    else:
        start, values, mask = basis.local(x, order)  # (N, in, K, S)
        local = torch.einsum("niks,niko->niso", values, ak)  # (N, in, S, out)
        if mask is not None:
            local = local * mask.unsqueeze(-1).to(local.dtype)
        index = layer.local_index(start, None)  # (N, in, S), clamped into 0..n-1
        rows = torch.arange(n_in, device=x.device).view(1, n_in, 1)
        c_local = layer.spline_coef[rows, index]  # (N, in, S, out)
        j_scale = (local * c_local).sum(dim=2) * mask_e
        coef = JacobianBlock(local * coef_scale, index, tuple(layer.spline_coef.shape))
    by_name = {"base_weight": JacobianBlock((jwb * mask_e).reshape(n_pts, -1)),
               "spline_coef": coef,
               "spline_scale": JacobianBlock(j_scale.reshape(n_pts, -1))}
    return [by_name[name] for name, _ in layer.named_parameters(recurse=False)]


def _linear_jacobian(rec: Record, g: Sequence[Tensor]) -> list[JacobianBlock]:
    jet, s = rec.jet_in, rec.scale
    n_pts = jet.value.shape[0]
    jw = g[0].unsqueeze(2) * jet.value.unsqueeze(1)  # (N, out, in)
    if jet.d1.shape[1]:
        jw = jw + torch.einsum("nco,nci->noi", g[1], jet.d1)
    if jet.d2.shape[1]:
        jw = jw + torch.einsum("npo,npi->noi", g[2], jet.d2)
    by_name = {"weight": jw * s, "bias": g[0] * s}
    return [JacobianBlock(by_name[name].reshape(n_pts, -1))
            for name, _ in rec.layer.named_parameters(recurse=False)]


@torch.no_grad()
def jacobian_blocks(rec: Record, cotangents: Sequence[Tensor | None]) -> list[JacobianBlock]:
    """Per-point Jacobian blocks of ``rec.layer``'s own parameters (in
    ``layer.named_parameters(recurse=False)`` order) for output cotangents
    ``(g_value, g_1, g_2)`` (None: zero) of the recorded call: row ``q`` is
    ``sum g[q] * d out[q] / d theta`` (see the module docstring)."""
    g = [torch.zeros_like(t) if c is None else c for c, t in zip(cotangents, rec.outputs,
                                                                  strict=True)]
    return _kan_jacobian(rec, g) if rec.kind == "kan" else _linear_jacobian(rec, g)


def jacobian(rec: Record, cotangents: Sequence[Tensor | None]) -> list[Tensor]:
    """:func:`jacobian_blocks` as dense ``(Q, p.numel())`` tensors."""
    return [b.dense() for b in jacobian_blocks(rec, cotangents)]


def tangent(rec: Record, direction: dict[str, Tensor]) -> Jet:
    """The derivative of the recorded call's output jet along the parameter direction
    ``direction`` (``{name: tensor shaped like the parameter}``; missing names: zero), at
    the recorded input jet: the layer's jet with the direction as its (linear) weights."""
    layer, jet = rec.layer, rec.jet_in
    params = dict(layer.named_parameters(recurse=False))

    def d(name: str) -> Tensor:
        v = direction.get(name)
        return torch.zeros_like(params[name]) if v is None else v

    with torch.no_grad():
        if rec.kind == "kan":
            mask = layer.edge_mask
            w = (d("spline_coef") * layer.spline_scale.unsqueeze(1)
                 + layer.spline_coef * d("spline_scale").unsqueeze(1)) * mask.unsqueeze(1)
            return layer.jet_with_weights(jet, w, d("base_weight") * mask)
        s = rec.scale
        bias = None if layer.bias is None else d("bias") * s
        return jet.map_linear(d("weight").t() * s, bias)


def linear_parameters(rec: Record) -> list[nn.Parameter]:
    """The parameters the recorded call's output is jointly linear in (the others fixed):
    ``base_weight`` and ``spline_coef`` of a KAN layer, ``weight`` and ``bias`` of a linear
    layer (trainable ones only)."""
    names = ("base_weight", "spline_coef") if rec.kind == "kan" else ("weight", "bias")
    return [p for name, p in rec.layer.named_parameters(recurse=False)
            if name in names and p.requires_grad]

