"""forward_jet of every model family against nested autograd (float64, 1e-10)."""

from __future__ import annotations

import pytest
import torch

from kanpde.models import KAN, MLP, SIREN, FourierMLP, InputScaling, Jet, ScaledModel
from kanpde.native import load_library

F64 = torch.float64
PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (1, 2))

#: B-spline contractions under test ("fused" only where the native kernels build)
MODES = (["fused"] if load_library() is not None else []) + ["dense", "sparse", "edge"]


def _x(n: int, d: int, lo: float = -1.0, hi: float = 1.0, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(n, d, dtype=F64, generator=g)


def autograd_jet(model, x: torch.Tensor, pairs) -> tuple[torch.Tensor, ...]:
    """value (N, d), d1 (N, C, d), d2 (N, P, d) by nested autograd (create_graph=True)."""
    x = x.clone().requires_grad_(True)
    u = model(x)
    d1, d2 = [], []
    for j in range(u.shape[1]):
        (g,) = torch.autograd.grad(u[:, j].sum(), x, create_graph=True)
        d1.append(g)
        second = []
        for a, b in pairs:
            if g.requires_grad:  # an affine model has a constant gradient
                second.append(torch.autograd.grad(g[:, a].sum(), x, create_graph=True)[0][:, b])
            else:
                second.append(torch.zeros_like(g[:, a]))
        d2.append(torch.stack(second, dim=1) if second else g.new_zeros(g.shape[0], 0))
    return u, torch.stack(d1, -1), torch.stack(d2, -1), x


def assert_jet_matches(model, x: torch.Tensor, pairs=PAIRS, tol: float = 1e-10) -> None:
    jet = model.forward_jet(Jet.seed(x, pairs))
    u, d1, d2, _ = autograd_jet(model, x, jet.pairs)
    for ours, ref in ((jet.value, u), (jet.d1, d1), (jet.d2, d2)):
        scale = max(1.0, float(ref.detach().abs().max()))
        err = float((ours - ref).detach().abs().max())
        assert err <= tol * scale, f"{type(model).__name__}: {err:.2e} (scale {scale:.1e})"


def kan_models() -> list[tuple[str, torch.nn.Module]]:
    out = []
    for basis in ("bspline", "chebyshev", "rbf"):
        out.append((basis, KAN([3, 5, 4, 2], grid_size=5, basis=basis, seed=0, dtype=F64)))
    for mode in MODES:
        out.append((f"bspline-{mode}", KAN([3, 6, 4, 2], grid_size=7, spline_order=3,
                                           contraction=mode, seed=1, dtype=F64)))
    out.append(("k2", KAN([3, 4, 2], grid_size=6, spline_order=2, seed=2, dtype=F64)))
    out.append(("tanh-base", KAN([3, 4, 2], grid_size=4, base_activation="tanh", seed=3,
                                 dtype=F64)))
    return out


@pytest.mark.parametrize(("name", "model"), kan_models(), ids=[n for n, _ in kan_models()])
def test_kan_jets_match_autograd(name: str, model) -> None:
    assert_jet_matches(model, _x(40, 3, -1.3, 1.3))  # includes the grid extension


@pytest.mark.parametrize("mode", MODES)
def test_kan_jets_after_update_grid(mode: str) -> None:
    model = KAN([3, 6, 4, 2], grid_size=8, seed=4, contraction=mode, dtype=F64)
    model.update_grid(_x(500, 3, seed=1) ** 3)
    assert not model.layers[0].basis.uniform
    assert_jet_matches(model, _x(40, 3, -0.9, 0.9, seed=2))


@pytest.mark.parametrize(
    "model",
    [
        MLP([3, 16, 16, 2], seed=0, dtype=F64),
        MLP([3, 12, 2], activation="silu", seed=0, dtype=F64),
        MLP([3, 12, 2], activation="gelu", seed=0, dtype=F64),
        MLP([3, 12, 2], activation="sin", seed=0, dtype=F64),
        SIREN([3, 16, 16, 2], omega_0=30.0, seed=0, dtype=F64),
        FourierMLP([3, 16, 2], n_features=8, sigma=2.0, seed=0, dtype=F64),
    ],
    ids=["mlp-tanh", "mlp-silu", "mlp-gelu", "mlp-sin", "siren", "fourier"],
)
def test_baseline_jets_match_autograd(model) -> None:
    assert_jet_matches(model, _x(40, 3))


def test_scaled_model_and_input_scaling_jets() -> None:
    lo, hi = [0.0, -2.0, 1.0], [1.0, 2.0, 5.0]
    for net in (KAN([3, 5, 1], grid_size=5, seed=0, dtype=F64), MLP([3, 8, 1], seed=0,
                                                                     dtype=F64)):
        model = ScaledModel(net, lo, hi)
        x = torch.stack([_x(30, 1, 0, 1)[:, 0], _x(30, 1, -2, 2, 1)[:, 0],
                         _x(30, 1, 1, 5, 2)[:, 0]], dim=1)
        assert_jet_matches(model, x)
    assert_jet_matches(InputScaling(lo, hi, dtype=F64), x)


def test_default_pairs_are_the_laplacian_diagonal() -> None:
    model = KAN([2, 4, 1], seed=0, dtype=F64)
    x = _x(20, 2)
    jet = model.forward_jet(Jet.seed(x))
    assert jet.pairs == ((0, 0), (1, 1))
    _, _, d2, _ = autograd_jet(model, x, jet.pairs)
    torch.testing.assert_close(jet.d2.sum(1), d2.sum(1), rtol=0, atol=1e-12)


def _loss_from_derivatives(u, d1, d2) -> torch.Tensor:
    lap = d2[:, 0] + d2[:, 1]  # (N, d) from the pairs (0,0), (1,1)
    return (lap - 1.0).pow(2).mean() + d1.pow(2).mean() + (d2[:, 2] * u).mean()


@pytest.mark.parametrize(
    "model",
    [
        KAN([2, 5, 3, 1], grid_size=6, contraction="dense", seed=0, dtype=F64),
        KAN([2, 5, 3, 1], grid_size=6, contraction="sparse", seed=0, dtype=F64),
        KAN([2, 5, 3, 1], grid_size=6, contraction="edge", seed=0, dtype=F64),
        KAN([2, 5, 1], grid_size=30, seed=0, dtype=F64),
        KAN([2, 5, 1], grid_size=4, basis="chebyshev", seed=0, dtype=F64),
        KAN([2, 5, 1], grid_size=4, basis="rbf", seed=0, dtype=F64),
        MLP([2, 10, 10, 1], seed=0, dtype=F64),
        SIREN([2, 10, 10, 1], seed=0, dtype=F64),
        FourierMLP([2, 10, 1], n_features=6, seed=0, dtype=F64),
        ScaledModel(KAN([2, 4, 1], grid_size=6, seed=0, dtype=F64), [0, 0], [2, 3]),
    ],
    ids=["kan-dense", "kan-sparse", "kan-edge", "kan-G30", "cheb", "rbf", "mlp", "siren",
         "fourier", "scaled"],
)
def test_parameter_and_input_gradients_of_jet_loss_match_autograd(model) -> None:
    if getattr(model, "supports_grid_updates", False):
        model.update_grid(_x(300, 2, seed=3) * 0.8)
    x = _x(50, 2, -0.9, 0.9, seed=4)
    params = [p for p in model.parameters() if p.requires_grad]
    pairs = ((0, 0), (1, 1), (0, 1))

    xj = x.clone().requires_grad_(True)
    jet = model.forward_jet(Jet.seed(xj, pairs))
    loss_j = _loss_from_derivatives(jet.value, jet.d1, jet.d2)
    grads_j = torch.autograd.grad(loss_j, [*params, xj], allow_unused=True)

    u, d1, d2, xa = autograd_jet(model, x, pairs)
    loss_a = _loss_from_derivatives(u, d1, d2)
    grads_a = torch.autograd.grad(loss_a, [*params, xa], allow_unused=True)

    assert abs(float((loss_j - loss_a).detach())) <= 1e-12 * max(1.0, abs(float(loss_a.detach())))
    for gj, ga in zip(grads_j, grads_a, strict=True):
        if ga is None:
            assert gj is None or float(gj.abs().max()) == 0.0
            continue
        scale = max(1.0, float(ga.abs().max()))
        assert float((gj - ga).abs().max()) <= 1e-10 * scale


def test_jet_width_mismatch_raises() -> None:
    model = KAN([3, 4, 1], seed=0)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        model.forward_jet(Jet.seed(torch.zeros(4, 2)))


def test_scaled_model_exposes_forward_jet_only_when_net_has_it() -> None:
    class Plain(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(2, 1)

        def forward(self, x):
            return self.lin(x)

    assert hasattr(ScaledModel(KAN([2, 3, 1], seed=0), [0, 0], [1, 1]), "forward_jet")
    plain = ScaledModel(Plain(), [0, 0], [1, 1])
    assert not hasattr(plain, "forward_jet")
    assert not hasattr(plain, "extend_grid")
    assert not plain.supports_grid_updates


@pytest.mark.parametrize("mode", MODES)
def test_empty_and_single_point_batches(mode: str) -> None:
    model = KAN([2, 4, 3], grid_size=25, contraction=mode, seed=0, dtype=F64)
    for n in (0, 1):
        x = _x(n, 2).requires_grad_(True)
        jet = model.forward_jet(Jet.seed(x))
        assert jet.value.shape == (n, 3) and jet.d2.shape == (n, 2, 3)
        (jet.d2.sum() + model(x).sum()).backward()
        assert x.grad.shape == (n, 2)


@pytest.mark.parametrize(
    "model",
    [KAN([2, 4, 1], grid_size=5, contraction=c, seed=0, dtype=F64) for c in
     MODES]
    + [KAN([2, 4, 1], basis="rbf", seed=0, dtype=F64), MLP([2, 5, 1], seed=0, dtype=F64),
       SIREN([2, 5, 1], seed=0, dtype=F64), FourierMLP([2, 5, 1], n_features=3, seed=0,
                                                       dtype=F64)],
)
def test_first_derivatives_only(model) -> None:
    """``pairs=()``: no second derivatives carried, gradients still exact."""
    x = _x(9, 2)
    jet = model.forward_jet(Jet.seed(x, ()))
    assert jet.d2.shape == (9, 0, 1)
    _, d1, _, _ = autograd_jet(model, x, ())
    torch.testing.assert_close(jet.d1, d1, rtol=0, atol=1e-12)


def test_seed_channels_stay_expanded_through_input_scaling() -> None:
    """The seed's ``d1 = I``, ``d2 = 0`` are one row expanded along the points; scaling keeps
    them so (stride 0) and equals the dense product."""
    x = _x(25, 3)
    jet = Jet.seed(x, ((0, 0), (0, 2)))
    assert jet.d1.stride(0) == 0 and jet.d2.stride(0) == 0
    s = torch.tensor([2.0, 0.5, 4.0], dtype=F64)
    d1, d2 = jet.scale_channels(s)
    assert d1.stride(0) == 0 and d2.stride(0) == 0
    torch.testing.assert_close(d1, jet.d1.contiguous() * s, rtol=0, atol=0)
    torch.testing.assert_close(d2, jet.d2.contiguous() * s, rtol=0, atol=0)
    dense = Jet(x, jet.d1.contiguous(), jet.d2.contiguous() + 1.0, jet.pairs)
    d1, d2 = dense.scale_channels(s)
    torch.testing.assert_close(d2, (jet.d2 + 1.0) * s, rtol=0, atol=0)
