"""The native fused KAN-layer jet (``contraction="fused"``) against the PyTorch contractions
and nested autograd (float64, tight), its gradients, and its fallbacks."""

from __future__ import annotations

import pytest
import torch

from kanpde.core.jet import Jet
from kanpde.models import KAN
from kanpde.models.activations import ACTIVATIONS
from kanpde.models.kan.fused_jet import fused_available, fused_kan_jet
from kanpde.native import library, load_library, native_status

F64 = torch.float64

pytestmark = pytest.mark.skipif(load_library() is None,
                                reason=f"native kernels unavailable: {native_status()}")


def _x(n: int, d: int, lo: float, hi: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, d, generator=g, dtype=F64) * (hi - lo) + lo


def _jet_and_grads(model: KAN, x: torch.Tensor, pairs, contraction: str):
    for layer in model.layers:
        layer.contraction = contraction
    x = x.detach().requires_grad_(True)
    jet = model.forward_jet(Jet.seed(x, pairs))
    weights = torch.linspace(0.5, 1.5, jet.d2[0].numel(), dtype=F64).reshape(jet.d2.shape[1:])
    loss = (jet.value**2).sum() + (jet.d1**3).sum() + (jet.d2 * weights).sum()
    grads = torch.autograd.grad(loss, [x, *model.parameters()])
    return [jet.value, jet.d1, jet.d2, *grads]


def _assert_all_close(ours, refs, rtol: float = 1e-11) -> None:
    for a, b in zip(ours, refs, strict=True):
        assert a.shape == b.shape
        if not b.numel():
            continue
        a, b = a.detach(), b.detach()
        scale = max(1.0, float(b.abs().max()))
        err = float((a - b).abs().max())
        assert err <= rtol * scale, f"{err:.2e} (scale {scale:.1e})"


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("pairs", [None, ((0, 0), (0, 1), (1, 1), (0, 2)), ()],
                         ids=["laplacian", "mixed", "first-only"])
@pytest.mark.parametrize("grid", ["uniform", "adapted"])
@pytest.mark.parametrize("widths", [[3, 5, 4, 2], [3, 4, 1], [3, 1]],
                         ids=["out2", "out1", "single-layer"])
def test_fused_equals_edge_contraction(activation: str, pairs, grid: str, widths) -> None:
    """Values, derivatives and every gradient (inputs, coefficients, scales, base weights)
    equal the PyTorch edge contraction, including the grid extension and points outside
    the knot vector; one output (the kernels' own path for it) and several."""
    model = KAN(widths, grid_size=6, base_activation=activation, seed=1, dtype=F64)
    if grid == "adapted":
        model.update_grid(_x(300, 3, -1.0, 1.0, seed=3) ** 3)
        assert not model.layers[0].basis.uniform
    x = _x(60, 3, -2.2, 2.2, seed=2)
    x[0] = torch.tensor([1.0, -1.0, 0.0], dtype=F64)  # exactly at knots / the grid ends
    assert model.layers[0].contraction_mode() == "fused"
    _assert_all_close(_jet_and_grads(model, x, pairs, "fused"),
                      _jet_and_grads(model, x, pairs, "edge"))


def test_fused_laplacian_equals_nested_autograd() -> None:
    model = KAN([2, 6, 5, 1], grid_size=7, seed=0, dtype=F64)
    x = _x(50, 2, -1.2, 1.2).requires_grad_(True)
    jet = model.forward_jet(Jet.seed(x))
    u = model(x)
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    lap = sum(torch.autograd.grad(g[:, c].sum(), x, create_graph=True)[0][:, c]
              for c in range(2))
    torch.testing.assert_close(jet.value, u, rtol=0, atol=1e-12)
    torch.testing.assert_close(jet.d1[:, :, 0], g, rtol=0, atol=1e-11)
    torch.testing.assert_close(jet.d2.sum(1)[:, 0], lap, rtol=0, atol=1e-10)


def test_masked_edges_get_no_gradient() -> None:
    model = KAN([2, 4, 1], grid_size=5, seed=0, dtype=F64)
    model.layers[0].edge_mask[0, 1] = 0.0
    jet = model.forward_jet(Jet.seed(_x(30, 2, -1, 1)))
    jet.d2.sum().backward()
    layer = model.layers[0]
    assert float(layer.spline_coef.grad[0, :, 1].abs().max()) == 0.0
    assert float(layer.base_weight.grad[0, 1].abs()) == 0.0


@pytest.mark.parametrize("o", [1, 2])
def test_gradcheck_of_the_native_function(o: int) -> None:
    g = torch.Generator().manual_seed(0)
    n, i, s, f, c, p = 7, 3, 4, 6, 2, 3

    def r(*shape):
        return torch.randn(*shape, generator=g, dtype=F64, requires_grad=True)

    start = torch.randint(-4, f, (n, i), generator=g)
    values = torch.randn(n, i, 4, s, generator=g, dtype=F64)
    act = torch.randn(n, i, 4, generator=g, dtype=F64)
    x, d1, d2, w, wb = r(n, i), r(n, c, i), r(n, p, i), r(i, f, o), r(i, o)
    pairs = ((0, 0), (0, 1), (1, 1))  # outer_p = d1_a d1_b, formed by the kernel

    # values/act are functions of x in the model; here they are constants, so d/dx is the
    # analytic rule of the kernel: check the other inputs by finite differences ...
    def fn(d1, d2, w, wb):
        return fused_kan_jet(x.detach(), d1, d2, pairs, w, wb, start, values, act)

    assert torch.autograd.gradcheck(fn, (d1, d2, w, wb))
    # ... including jet channels expanded along the points (stride 0, read as one row)
    row1, row2 = r(1, c, i), r(1, p, i)
    assert torch.autograd.gradcheck(
        lambda a, b, w: fn(a.expand(n, c, i), b.expand(n, p, i), w, wb), (row1, row2, w))
    # ... and d/dx against its formula: sum_q <gPhi_q, Phi_{q+1}> with values' next order
    ys = fused_kan_jet(x, d1, d2, pairs, w, wb, start, values, act)
    assert [tuple(t.shape) for t in ys] == [(n, o), (n, c, o), (n, p, o)]
    y = torch.cat([ys[0][:, None], ys[1], ys[2]], dim=1)
    gy = torch.randn(y.shape, generator=g, dtype=F64)
    (gx,) = torch.autograd.grad(y, x, gy)
    shifted = torch.cat([values[:, :, 1:], torch.zeros_like(values[:, :, :1])], dim=2)
    act_shift = torch.cat([act[:, :, 1:], torch.zeros_like(act[:, :, :1])], dim=2)
    # the x-gradient equals the gradient w.r.t. values/act contracted with their derivatives
    v_req, a_req = values.clone().requires_grad_(True), act.clone().requires_grad_(True)
    outer = torch.stack([d1[:, a] * d1[:, b] for a, b in pairs], dim=1)
    y_ref = _edge_reference(v_req, a_req, d1, d2, outer, w, wb, start)
    gv, ga = torch.autograd.grad(y_ref, [v_req, a_req], gy)
    torch.testing.assert_close(y, y_ref, rtol=0, atol=1e-12)
    expect = (gv * shifted).sum((2, 3)) + (ga * act_shift).sum(2)
    torch.testing.assert_close(gx, expect, rtol=0, atol=1e-12)


def _edge_reference(values, act, d1, d2, outer, w, wb, start):
    """The fused formula written with plain tensor ops (slots outside 0..F-1 dropped)."""
    n_fun = w.shape[1]
    slots = start[..., None] + torch.arange(values.shape[-1])
    ok = (slots >= 0) & (slots < n_fun)
    rows = w[torch.arange(w.shape[0])[None, :, None], slots.clamp(0, n_fun - 1)]  # N,I,S,O
    rows = rows * ok[..., None]
    phi = values[:, :, :3] @ rows + act[:, :, :3, None] * wb[None, :, None]  # (N, I, 3, O)
    y0 = phi[:, :, 0].sum(1, keepdim=True)  # (N, 1, O)
    y1 = d1 @ phi[:, :, 1]
    y2 = d2 @ phi[:, :, 1] + outer @ phi[:, :, 2]
    return torch.cat([y0, y1, y2], dim=1)


def test_thread_count_does_not_change_results() -> None:
    model = KAN([2, 8, 3], grid_size=9, seed=0, dtype=F64)
    x = _x(257, 2, -1, 1)
    before = torch.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            results.append(_jet_and_grads(model, x, None, "fused"))
    finally:
        torch.set_num_threads(before)
    _assert_all_close(*results, rtol=1e-13)


def test_float32_matches_float64() -> None:
    model = KAN([2, 6, 1], grid_size=8, seed=0, dtype=F64)
    x = _x(100, 2, -1, 1)
    ref = _jet_and_grads(model, x, None, "fused")
    ours = _jet_and_grads(model.float(), x.float(), None, "fused")
    _assert_all_close([t.double() for t in ours], ref, rtol=1e-4)


def test_double_backward_is_refused() -> None:
    model = KAN([2, 3, 1], grid_size=5, seed=0, dtype=F64)
    x = _x(5, 2, -1, 1).requires_grad_(True)
    jet = model.forward_jet(Jet.seed(x))
    (g,) = torch.autograd.grad((jet.d2**2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()


def test_availability_rules() -> None:
    assert fused_available(torch.zeros(2, dtype=F64))
    assert fused_available(torch.zeros(2, dtype=torch.float32))
    assert not fused_available(torch.zeros(2, dtype=torch.float16))
    assert not fused_available(torch.zeros(2, dtype=F64), torch.zeros(2, dtype=torch.float32))


@pytest.fixture
def fresh_native(monkeypatch, tmp_path):
    """A private native state and cache directory, restored afterwards."""
    monkeypatch.setenv("KANPDE_CACHE", str(tmp_path))
    library.reset_native_state()
    yield monkeypatch
    monkeypatch.undo()
    library.reset_native_state()


def test_disabled_native_falls_back(fresh_native) -> None:
    fresh_native.setenv("KANPDE_NATIVE", "0")
    assert load_library() is None and "KANPDE_NATIVE=0" in native_status()
    model = KAN([2, 6, 3], grid_size=5, seed=0, dtype=F64)
    assert model.layers[0].contraction_mode() in ("dense", "sparse", "edge")
    model.layers[0].contraction = "fused"
    with pytest.raises(RuntimeError, match="contraction='fused'.*KANPDE_NATIVE=0"):
        model.forward_jet(Jet.seed(_x(4, 2, -1, 1)))


def test_missing_compiler_is_reported_and_falls_back(fresh_native) -> None:
    fresh_native.setenv("CC", "/nonexistent/cc")
    assert load_library() is None
    assert "nonexistent" in native_status()
    model = KAN([2, 3, 1], grid_size=5, seed=0, dtype=F64)
    assert model.layers[0].contraction_mode() != "fused"


def test_build_is_cached_and_atomic(fresh_native, tmp_path) -> None:
    assert load_library() is not None
    built = sorted((tmp_path / "native").iterdir())
    assert len(built) == 1 and built[0].suffix == ".so"  # no temporary files left behind
    stamp = built[0].stat().st_mtime_ns
    library.reset_native_state()
    assert load_library() is not None
    assert sorted((tmp_path / "native").iterdir()) == built
    assert built[0].stat().st_mtime_ns == stamp  # loaded from the cache, not rebuilt


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_native_local_support_equals_pytorch(dtype: torch.dtype, k: int) -> None:
    """The native uniform-grid B-spline evaluation places points exactly as
    ``BSplineBasis.local_support`` does (knots, grid ends, extension, outside, spacings that
    differ per feature) and gives the same values of orders 0..3."""
    from kanpde.models.bases.bspline import BSplineBasis
    from kanpde.models.kan.fused_jet import local_support

    basis = BSplineBasis(2, 7, k, (-1.0, 1.0), dtype=dtype)
    grid = basis.grid.clone()
    grid[1] = grid[1] * 2.5 + 0.3  # a second feature with another range and spacing
    basis.set_grid(grid, uniform=True)
    knots = torch.cat([grid[0], grid[1]])
    x = torch.cat([_x(300, 2, -4.0, 4.0).to(dtype), knots[:, None].expand(-1, 2)])
    start, values = local_support(basis, x)
    ref_start, ref_values = basis.local_support(x, 3)
    assert torch.equal(start, ref_start)
    use = (start[..., None] + torch.arange(k + 1) >= 0) & \
        (start[..., None] + torch.arange(k + 1) < basis.n_functions)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    scale = ref_values.abs().amax(dim=(0, 1, 3), keepdim=True).clamp_min(1.0)
    diff = ((values - ref_values) / scale).abs().amax(dim=2)
    assert float(diff[use].max()) < tol


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_native_activation_derivatives_equal_pytorch(name: str) -> None:
    """The forward kernel's own activation (id ``ACTIVATION_KINDS[name]``), read off one edge
    with zero spline and unit base weight: ``y_0 = b``, ``y_1 = b'`` (``d1 = 1``), ``y_2 = b''``
    (``d2 = 0``, ``outer = 1``) and, from the backward pass with ``gy_2 = 1`` only, the x
    gradient is the third derivative."""
    from kanpde.models.kan.fused_jet import ACTIVATION_KINDS, _FusedKANJet, _pair_index

    act = ACTIVATIONS[name]
    x = torch.cat([_x(500, 3, -9.0, 9.0), torch.tensor([[0.0, -40.0, 40.0]], dtype=F64)])
    x = x.reshape(-1, 1).requires_grad_(True)  # one input, one edge
    n = x.shape[0]
    d1, d2 = torch.ones(n, 1, 1, dtype=F64), torch.zeros(n, 1, 1, dtype=F64)
    w, wb = torch.zeros(1, 4, 1, dtype=F64), torch.ones(1, 1, dtype=F64)
    start, values = torch.zeros(n, 1, dtype=torch.int64), torch.zeros(n, 1, 4, 4, dtype=F64)
    y0, y1, y2 = _FusedKANJet.apply(x, d1, d2, w, wb, _pair_index(((0, 0),), 1, 1), start,
                                    values, ACTIVATION_KINDS[name])
    (third,) = torch.autograd.grad((y2.sum(),), x)
    ours = torch.stack([y0[:, 0], y1[:, 0, 0], y2[:, 0, 0], third[:, 0]], dim=-1)
    xr = x.detach().reshape(-1, 3)
    ref = torch.stack([*act.with_derivatives(xr), act.third(xr)], dim=-1).reshape(-1, 4)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-13)


def test_fused_forward_equals_pytorch_forward() -> None:
    """``KAN.forward`` on inputs without grad uses the fused pass: same values and parameter
    gradients as the twice-differentiable forward (used when the input requires grad)."""
    model = KAN([2, 6, 4, 1], grid_size=6, seed=0, dtype=F64)
    x = _x(80, 2, -1.4, 1.4)
    fused = model(x)
    grads = torch.autograd.grad(fused.pow(2).sum(), list(model.parameters()))
    plain = model(x.clone().requires_grad_(True))
    ref = torch.autograd.grad(plain.pow(2).sum(), list(model.parameters()))
    _assert_all_close([fused, *grads], [plain, *ref], rtol=1e-13)


def test_non_contiguous_output_gradients() -> None:
    """Losses whose gradients reach the layer as broadcast (stride-0) tensors, as
    ``d2.sum(dim=1)`` and ``mean`` give: the kernel reads contiguous copies that stay alive
    for the whole call (a freed copy once produced garbage here)."""
    model = KAN([2, 3, 1], grid_size=5, seed=0, dtype=F64)
    x = _x(64, 2, -1, 1)
    params = list(model.parameters())
    results = []
    for contraction in ("fused", "edge"):
        for layer in model.layers:
            layer.contraction = contraction
        for _ in range(3):  # repeated: a dangling copy would be reused by later allocations
            jet = model.forward_jet(Jet.seed(x))
            loss = (jet.d2.sum(dim=1) - 1.0).pow(2).mean() + jet.d1.mean() + jet.value.mean()
            results.append(torch.autograd.grad(loss, params))
    for grads in results[1:]:
        _assert_all_close(grads, results[0], rtol=1e-12)


def test_bad_pairs_and_shapes_are_refused() -> None:
    n, i, f, o = 5, 2, 6, 3
    x, w, wb = torch.zeros(n, i, dtype=F64), torch.zeros(i, f, o, dtype=F64), torch.zeros(i, o,
                                                                                         dtype=F64)
    start, values = torch.zeros(n, i, dtype=torch.int64), torch.zeros(n, i, 4, 4, dtype=F64)
    act, d1, d2 = torch.zeros(n, i, 4, dtype=F64), torch.zeros(n, 2, i, dtype=F64), \
        torch.zeros(n, 1, i, dtype=F64)
    with pytest.raises(ValueError, match="pairs of coordinate indices in 0..1"):
        fused_kan_jet(x, d1, d2, ((0, 2),), w, wb, start, values, act)
    with pytest.raises(ValueError, match="must be 1 pairs"):
        fused_kan_jet(x, d1, d2, ((0, 0), (1, 1)), w, wb, start, values, act)
    with pytest.raises(ValueError, match="jet channels"):
        fused_kan_jet(x, d1[:, :, :1], d2, ((0, 0),), w, wb, start, values, act)
    ys = fused_kan_jet(x, d1, d2, ((1, 0),), w, wb, start, values, act)
    assert [tuple(t.shape) for t in ys] == [(n, o), (n, 2, o), (n, 1, o)]


def test_a_jet_under_inference_mode_does_not_break_training() -> None:
    """The cached pair index is built as a normal tensor even under inference_mode (a later
    training pass saves it for backward)."""
    from kanpde.models.kan.fused_jet import _pair_tensor

    _pair_tensor.cache_clear()
    model = KAN([2, 4, 1], grid_size=5, seed=0, dtype=F64)
    x = _x(10, 2, -1, 1)
    with torch.inference_mode():
        model.forward_jet(Jet.seed(x))
    model.forward_jet(Jet.seed(x)).d2.sum().backward()
    assert model.layers[0].spline_coef.grad is not None


def test_mixed_dtypes_are_refused() -> None:
    """The native pass picks its kernel by dtype: an input of another dtype than the model
    is an error naming both (not a read past the weights)."""
    model = KAN([2, 4, 1], grid_size=5, seed=0, dtype=torch.float32)
    assert model.layers[0].contraction_mode() == "fused"
    with pytest.raises(ValueError, match="must share one dtype"):
        model.forward_jet(Jet.seed(_x(10, 2, -1, 1)))
    with pytest.raises(ValueError, match="must share one dtype"):
        model(_x(10, 2, -1, 1))
