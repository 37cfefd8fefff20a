"""KANLayer and KAN: values, input derivatives, gradchecks, init, validation, state."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline

from kanpde.models import KAN, Jet, KANLayer, count_parameters, parameter_count

F64 = torch.float64


def _x(n: int, d: int, scale: float = 1.0, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, d, dtype=F64, generator=g) * 2 - 1) * scale


def one_edge(coef: np.ndarray, grid_size: int = 6, k: int = 3) -> KANLayer:
    """A 1 -> 1 layer whose edge is exactly the spline sum_m coef_m B_m (no base branch)."""
    layer = KANLayer(1, 1, grid_size, k, seed=0, dtype=F64)
    with torch.no_grad():
        layer.base_weight.zero_()
        layer.spline_scale.fill_(1.0)
        layer.spline_coef.copy_(torch.tensor(coef, dtype=F64).reshape(1, -1, 1))
    return layer


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_one_edge_layer_equals_scipy_spline_and_derivatives(k: int) -> None:
    rng = np.random.default_rng(k)
    coef = rng.normal(size=6 + k)
    layer = one_edge(coef, 6, k)
    t = layer.grid[0].numpy()
    spline = BSpline(t, coef, k, extrapolate=True)
    xs = np.concatenate([rng.uniform(-1, 1, 50), t[k : k + 7]])
    x = torch.tensor(xs[:, None], requires_grad=True)
    y = layer(x)
    np.testing.assert_allclose(y[:, 0].detach().numpy(), spline(xs), rtol=0, atol=1e-12)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g[:, 0].detach().numpy(), spline.derivative(1)(xs), atol=1e-11)
    if k >= 2:
        (h,) = torch.autograd.grad(g.sum(), x)
        np.testing.assert_allclose(h[:, 0].numpy(), spline.derivative(2)(xs), atol=1e-10)


def test_base_branch_is_weighted_silu() -> None:
    layer = KANLayer(1, 1, 5, seed=0, dtype=F64)
    with torch.no_grad():
        layer.spline_coef.zero_()
        layer.base_weight.fill_(0.7)
    x = torch.linspace(-3, 3, 31, dtype=F64)[:, None]
    torch.testing.assert_close(layer(x), 0.7 * torch.nn.functional.silu(x))


def test_kan_input_derivatives_match_finite_differences() -> None:
    model = KAN([2, 5, 3, 1], grid_size=6, seed=1, dtype=F64)
    x = _x(30, 2, 0.9, seed=3).requires_grad_(True)
    u = model(x)
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    h = 1e-6
    for c in range(2):
        e = torch.zeros(1, 2, dtype=F64)
        e[0, c] = h
        fd1 = (model(x + e) - model(x - e))[:, 0] / (2 * h)
        torch.testing.assert_close(g[:, c], fd1, rtol=0, atol=1e-8)
        (hc,) = torch.autograd.grad(g[:, c].sum(), x, retain_graph=True)
        e2 = torch.zeros(1, 2, dtype=F64)
        e2[0, c] = 1e-4
        fd2 = (model(x + e2) - 2 * model(x) + model(x - e2))[:, 0] / 1e-8
        torch.testing.assert_close(hc[:, c], fd2, rtol=0, atol=1e-5)


@pytest.mark.parametrize("basis", ["bspline", "chebyshev", "rbf"])
def test_gradcheck_and_gradgradcheck(basis: str) -> None:
    layer = KANLayer(2, 2, 4, basis=basis, seed=0, dtype=F64)
    x = _x(6, 2, 0.95, seed=5).requires_grad_(True)

    def fn(inp, base, coef, scale):  # the parameters as explicit inputs of gradcheck
        return torch.func.functional_call(
            layer, {"base_weight": base, "spline_coef": coef, "spline_scale": scale}, (inp,)
        )

    params = [p.detach().clone().requires_grad_(True) for p in
              (layer.base_weight, layer.spline_coef, layer.spline_scale)]
    assert torch.autograd.gradcheck(fn, (x, *params))
    assert torch.autograd.gradgradcheck(fn, (x, *params))


def test_forward_shapes_for_all_bases() -> None:
    for basis in ("bspline", "chebyshev", "rbf"):
        model = KAN([3, 4, 2], grid_size=3, basis=basis, seed=0)
        assert model(torch.zeros(5, 3)).shape == (5, 2)
        assert model.dim_in == 3 and model.dim_out == 2 and model.widths == [3, 4, 2]
        assert count_parameters(model) == parameter_count("kan", [3, 4, 2], grid_size=3,
                                                          basis=basis)


def test_initialisation_statistics_and_seed() -> None:
    a = KANLayer(40, 30, 5, seed=3, dtype=F64).requires_grad_(False)
    b = KANLayer(40, 30, 5, seed=3, dtype=F64).requires_grad_(False)
    c = KANLayer(40, 30, 5, seed=4, dtype=F64).requires_grad_(False)
    torch.testing.assert_close(a.spline_coef, b.spline_coef)
    assert not torch.equal(a.base_weight, c.base_weight)
    bound = math.sqrt(6 / 70)
    assert float(a.base_weight.abs().max()) <= bound
    # uniform(-r, r) has variance r^2 / 3
    assert abs(float(a.base_weight.var()) / (bound**2 / 3) - 1) < 0.1
    assert float(a.spline_coef.abs().max()) <= 0.5 * 0.5 / 5
    torch.testing.assert_close(a.spline_scale, torch.full((40, 30), 40**-0.5, dtype=F64))


def test_constructors_do_not_touch_global_rng() -> None:
    state = torch.random.get_rng_state()
    KAN([2, 4, 1], seed=None)
    KAN([2, 4, 1], seed=7)
    assert torch.equal(state, torch.random.get_rng_state())


def test_seed_none_gives_different_models() -> None:
    a, b = KAN([2, 4, 1]), KAN([2, 4, 1])
    assert not torch.equal(a.layers[0].base_weight, b.layers[0].base_weight)


def test_grid_is_a_buffer_that_moves_and_is_saved() -> None:
    model = KAN([2, 3, 1], grid_size=4, seed=0)
    keys = set(model.state_dict())
    assert "layers.0.basis.grid" in keys and "layers.1.basis.grid" in keys
    model = model.to(F64)
    assert model.layers[0].grid.dtype == F64
    x = _x(10, 2)
    assert model(x).dtype == F64
    clone = KAN([2, 3, 1], grid_size=4, seed=1, dtype=F64)
    clone.load_state_dict(model.state_dict())
    torch.testing.assert_close(clone(x), model(x), rtol=0, atol=0)


def test_wrong_input_width_names_expected_width() -> None:
    model = KAN([3, 4, 1], seed=0)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        model(torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        model.layers[1](torch.zeros(5, 3))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"widths": [2, 5, 1], "grid_size": 0}, "grid_size"),
        ({"widths": [2, 5, 1], "spline_order": -1}, "spline_order"),
        ({"widths": []}, "widths"),
        ({"widths": [2]}, "widths"),
        ({"widths": [2, 0, 1]}, "widths"),
        ({"widths": [2, -3, 1]}, "widths"),
        ({"widths": [2, 5, 1], "basis": "wavelet"}, "basis"),
        ({"widths": [2, 5, 1], "base_activation": "relu"}, "base_activation"),
        ({"widths": [2, 5, 1], "grid_range": (1.0, 0.0)}, "grid_range"),
        ({"widths": [2, 5, 1], "contraction": "fast"}, "contraction"),
        ({"widths": [2, 5, 1], "grid_eps": 2.0}, "grid_eps"),
        ({"widths": [2, 5, 1], "seed": "a"}, "seed"),
        ({"widths": [2, 5, 1], "degree": 3}, "degree"),
    ],
)
def test_bad_constructor_arguments_raise(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        KAN(**kwargs)


def test_unknown_basis_lists_allowed_values() -> None:
    with pytest.raises(ValueError, match=r"\['bspline', 'chebyshev', 'rbf'\]"):
        KAN([2, 1], basis="nope")


def test_contraction_modes_agree_in_float32() -> None:
    x = _x(64, 2).float()
    outs = []
    for mode in ("dense", "sparse", "edge"):
        model = KAN([2, 6, 1], grid_size=8, seed=0, contraction=mode)
        outs.append(model.forward_jet(Jet.seed(x)))
    for other in outs[1:]:
        torch.testing.assert_close(other.d2, outs[0].d2, rtol=1e-5, atol=1e-5)
