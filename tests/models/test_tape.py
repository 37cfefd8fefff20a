"""The layer tape: per-point parameter Jacobians of output jets equal autograd's, row by row.

For every model family (KAN on each basis, adapted grids, pruned edges, the fused native and
the PyTorch contractions; MLP, SIREN, Fourier MLP; embeddings and input scaling in front;
a solver network beside a field network of some inputs) a
pointwise functional ``r_q = f(u, u', u'')`` of the output jet is differentiated two ways:
from the tape (one backward pass to the recorded outputs, then the closed-form blocks) and by
autograd, one row at a time. float64, tolerance 1e-10 relative to the largest entry.
"""

from __future__ import annotations

import pytest
import torch

from kanpde.models import (
    KAN,
    MLP,
    SIREN,
    Embedded,
    FourierEmbedding,
    FourierMLP,
    Jet,
    PeriodicEmbedding,
    ScaledModel,
)
from kanpde.models.fields import Fields
from kanpde.models.tape import Tape, jacobian, linear_jet, linear_parameters, tangent

F64 = torch.float64
PAIRS = ((0, 0), (0, 1), (1, 1))


def _kan(**kw):
    return KAN([2, 3, 2], grid_size=4, seed=0, dtype=F64, **kw)


def _adapted():
    model = _kan()
    g = torch.Generator().manual_seed(5)
    model.update_grid(torch.rand(200, 2, generator=g, dtype=F64) * 1.6 - 0.8)
    return model


def _pruned():
    model = _kan()
    with torch.no_grad():
        model.layers[0].edge_mask[1, 2] = 0.0
    return model


MODELS = {
    "kan_fused": lambda: _kan(),
    "kan_dense": lambda: _kan(contraction="dense"),
    "kan_edge": lambda: _kan(contraction="edge"),
    "kan_quintic": lambda: KAN([2, 3, 1], grid_size=3, spline_order=5, seed=1, dtype=F64),
    "kan_adapted": _adapted,
    "kan_pruned": _pruned,
    "kan_chebyshev": lambda: _kan(basis="chebyshev"),
    "kan_rbf": lambda: _kan(basis="rbf"),
    "kan_tanh_base": lambda: _kan(base_activation="tanh"),
    "mlp": lambda: MLP([2, 5, 4, 2], seed=0, dtype=F64),
    "siren": lambda: SIREN([2, 5, 2], omega_0=3.0, seed=0, dtype=F64),
    "fourier_mlp": lambda: FourierMLP([2, 4, 2], n_features=3, seed=0, dtype=F64),
    "scaled_kan": lambda: ScaledModel(_kan(), [0.0, -2.0], [1.0, 2.0]),
    "periodic_kan": lambda: Embedded(PeriodicEmbedding(2, [0]),
                                     KAN([3, 3, 2], grid_size=4, seed=0, dtype=F64)),
    "fourier_emb_mlp": lambda: Embedded(FourierEmbedding(2, 3, seed=0).to(F64),
                                        MLP([8, 4, 2], seed=0, dtype=F64)),
    "fields_kan": lambda: Fields(KAN([2, 3, 1], grid_size=4, seed=0, dtype=F64),
                                 {"a": (KAN([1, 3, 1], grid_size=3, seed=1, dtype=F64), [1])}, 2),
    "fields_mlp": lambda: Fields(MLP([2, 4, 1], seed=0, dtype=F64),
                                 {"a": (ScaledModel(MLP([1, 3, 1], seed=1, dtype=F64), [-1.0],
                                                    [1.0]), [0])}, 2),
}


def _points(n=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 2, generator=g, dtype=F64) * 1.8 - 0.9


def _residual(jet: Jet) -> torch.Tensor:
    """A nonlinear pointwise functional of value, first and second derivatives: (N,)."""
    v, d1, d2 = jet.value, jet.d1, jet.d2
    return (v[:, 0] * d2[:, 0, -1] + d1[:, 1, 0] ** 2 - torch.sin(v[:, -1]) * d2[:, 1, 0]
            + d2[:, 2, -1])


def _tape_jacobian(model, x, params):
    with Tape() as tape:
        r = _residual(model.forward_jet(Jet.seed(x, PAIRS)))
    outs = [t for rec in tape.records for t in rec.outputs]
    cots = torch.autograd.grad(r.sum(), outs, allow_unused=True)
    col = {}
    off = 0
    for p in params:
        col[id(p)] = off
        off += p.numel()
    jac = torch.zeros(x.shape[0], off, dtype=F64)
    for i, rec in enumerate(tape.records):
        blocks = jacobian(rec, cots[3 * i : 3 * i + 3])
        for (_, p), blk in zip(rec.layer.named_parameters(recurse=False), blocks, strict=True):
            jac[:, col[id(p)] : col[id(p)] + p.numel()] += blk
    return r.detach(), jac, tape


def _autograd_jacobian(model, x, params):
    r = _residual(model.forward_jet(Jet.seed(x, PAIRS)))
    rows = []
    for q in range(r.shape[0]):
        g = torch.autograd.grad(r[q], params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([torch.zeros(p.numel(), dtype=F64) if gi is None
                               else gi.reshape(-1) for gi, p in zip(g, params, strict=True)]))
    return r.detach(), torch.stack(rows)


@pytest.mark.parametrize("name", list(MODELS))
def test_tape_jacobian_equals_autograd_row_by_row(name):
    model = MODELS[name]()
    params = list(model.parameters())
    x = _points()
    r_tape, jac, tape = _tape_jacobian(model, x, params)
    r_ref, ref = _autograd_jacobian(model, x, params)
    torch.testing.assert_close(r_tape, r_ref, rtol=1e-13, atol=1e-13)
    assert not tape.unsupported
    assert {id(p) for p in tape.parameters()} == {id(p) for p in params}
    scale = float(ref.abs().max())
    assert scale > 0
    assert float((jac - ref).abs().max()) <= 1e-10 * scale


@pytest.mark.parametrize("name", ["kan_fused", "kan_chebyshev", "mlp", "siren"])
def test_tangents_are_directional_derivatives_of_each_call(name):
    """tangent(rec, v) is d out / d theta . v at the recorded input (central differences of
    the layer's own jet in the direction v, float64)."""
    model = MODELS[name]()
    x = _points(6)
    with Tape() as tape:
        model.forward_jet(Jet.seed(x, PAIRS))
    g = torch.Generator().manual_seed(2)
    for rec in tape.records:
        params = dict(rec.layer.named_parameters(recurse=False))
        direction = {k: torch.randn(p.shape, generator=g, dtype=F64) for k, p in params.items()}
        tan = tangent(rec, direction)
        eps = 1e-6

        def out_at(sign, rec=rec, params=params, direction=direction, eps=eps):
            with torch.no_grad():
                for k, p in params.items():
                    p.add_(sign * eps * direction[k])
                if rec.kind == "kan":
                    jet = rec.layer.forward_jet(rec.jet_in)
                else:
                    jet = linear_jet(rec.jet_in, rec.layer, rec.scale)
                for k, p in params.items():
                    p.sub_(sign * eps * direction[k])
            return jet

        plus, minus = out_at(1.0), out_at(-1.0)
        for a, b, t in ((plus.value, minus.value, tan.value), (plus.d1, minus.d1, tan.d1),
                        (plus.d2, minus.d2, tan.d2)):
            torch.testing.assert_close(t, (a - b) / (2 * eps), rtol=1e-7, atol=1e-8)


def test_value_passes_are_noted_and_nothing_is_recorded_without_a_tape():
    model = _kan()
    x = _points()
    with Tape() as tape:
        model(x)  # a value pass: not a jet
    assert tape.unsupported and not tape.records
    model.forward_jet(Jet.seed(x))  # no tape: nothing happens


def test_linear_parameters_of_the_output_layer():
    model = _kan()
    with Tape() as tape:
        model.forward_jet(Jet.seed(_points()))
    last = tape.records[-1]
    assert [p.shape for p in linear_parameters(last)] == [
        model.layers[1].base_weight.shape, model.layers[1].spline_coef.shape]
    mlp = MODELS["mlp"]()
    with Tape() as tape:
        mlp.forward_jet(Jet.seed(_points()))
    assert linear_parameters(tape.records[-1]) == [mlp.layers[-1].weight, mlp.layers[-1].bias]


def test_tapes_nest_and_restore():
    with Tape() as outer:
        with Tape() as inner:
            _kan().forward_jet(Jet.seed(_points()))
        assert len(inner.records) == 2 and not outer.records
        MLP([2, 3, 1], seed=0, dtype=F64).forward_jet(Jet.seed(_points()))
    assert len(outer.records) == 2
