"""Grid extension and grid update: function preservation and least-squares accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kanpde.models import KAN, KANLayer
from kanpde.models.bases.bspline import BSplineBasis

F64 = torch.float64


def _x(n: int, d: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, d, dtype=F64, generator=g) * 2 - 1


def maxabs(t: torch.Tensor) -> float:
    return float(t.detach().abs().max())


def smooth_edge(grid_size: int = 5) -> KANLayer:
    """A 1 -> 1 layer whose spline is the least-squares cubic fit of sin(pi x)."""
    layer = KANLayer(1, 1, grid_size, spline_order=3, seed=0, dtype=F64)
    xd = torch.linspace(-1, 1, 400, dtype=F64)[:, None]
    with torch.no_grad():
        design = layer.basis(xd)[:, 0]
        coef = torch.linalg.lstsq(design, torch.sin(math.pi * xd)).solution
        layer.spline_coef.copy_(coef[None])
        layer.spline_scale.fill_(1.0)
    return layer


@pytest.mark.parametrize(("g", "factor"), [(5, 2), (3, 4), (7, 3)])
def test_nested_extension_preserves_layer_exactly(g: int, factor: int) -> None:
    layer = KANLayer(2, 3, g, spline_order=3, seed=1, dtype=F64)
    x = torch.cat([_x(500, 2), torch.tensor([[-1.0, 1.0], [1.0, -1.0]], dtype=F64)])
    before = layer(x)
    layer.extend_grid(factor * g)
    assert layer.grid_size == factor * g and layer.spline_coef.shape == (2, factor * g + 3, 3)
    assert maxabs(layer(x) - before) < 1e-10


def test_nested_extension_preserves_kan_inside_range() -> None:
    model = KAN([2, 5, 4, 1], grid_size=5, spline_order=3, seed=2, dtype=F64)
    x = _x(800, 2, seed=1)
    h1 = model.layers[0](x)
    h2 = model.layers[1](h1)
    inside = (h1.abs() <= 1).all(1) & (h2.abs() <= 1).all(1)
    assert int(inside.sum()) > 100
    before = model(x)
    model.extend_grid(10)
    assert model.grid_size == 10
    assert maxabs((model(x) - before)[inside]) < 1e-10


def test_nested_extension_after_update_is_exact() -> None:
    model = KAN([2, 4, 1], grid_size=5, spline_order=3, seed=3, dtype=F64)
    x = _x(600, 2, seed=2) ** 3
    model.update_grid(x)
    before = model(x)
    model.extend_grid(10, x)
    assert not model.layers[0].basis.uniform
    assert maxabs(model(x) - before) < 1e-10


def test_non_nested_extension_tolerance() -> None:
    """5 -> 7 is not nested: the refit is a least-squares projection.

    Measured on these seeds (float64): max |change| ~ 1e-3 for the rough random
    initial splines (output scale ~ 0.3), ~ 3.5e-3 for a sin(pi x) edge (the G = 5 and G = 7
    cubic fits of sin(pi x) themselves differ by that much).
    """
    x = _x(2000, 2)
    for seed in range(3):
        layer = KANLayer(2, 3, 5, spline_order=3, seed=seed, dtype=F64)
        before = layer(x)
        layer.extend_grid(7)
        assert maxabs(layer(x) - before) < 2e-3
    edge = smooth_edge(5)
    xd = torch.linspace(-1, 1, 301, dtype=F64)[:, None]
    before = edge(xd)
    edge.extend_grid(7)
    assert maxabs(edge(xd) - before) < 5e-3


def test_update_grid_follows_quantiles_and_preserves_function() -> None:
    """Measured (float64): max change ~ 6e-3 for the rough random initial splines on samples
    x^3 (output scale ~ 0.3), ~ 3e-4 for a G = 10 sin(pi x) edge on uniform samples. (A smooth
    edge on strongly skewed samples changes more, ~ 5e-2 at G = 5: the adapted grid leaves
    only wide intervals where the samples are sparse.)"""
    xs = _x(3000, 2, seed=4) ** 3  # concentrated near 0
    for seed in range(3):
        layer = KANLayer(2, 3, 5, spline_order=3, seed=seed, grid_eps=0.02, dtype=F64)
        before = layer(xs)
        layer.update_grid(xs)
        assert maxabs(layer(xs) - before) < 1.5e-2
    grid = layer.grid[0]
    q = torch.quantile(xs[:, 0], torch.linspace(0, 1, 6, dtype=F64))
    lo, hi = xs[:, 0].min(), xs[:, 0].max()
    expected = 0.02 * (lo + (hi - lo) * torch.linspace(0, 1, 6, dtype=F64)) + 0.98 * q
    torch.testing.assert_close(grid[3:9], expected)
    assert not layer.basis.uniform
    edge = smooth_edge(10)
    xe = _x(3000, 1, seed=5)
    before = edge(xe)
    edge.update_grid(xe)
    assert maxabs(edge(xe) - before) < 1e-3


def test_update_grid_with_eps_one_is_uniform_on_sample_range() -> None:
    layer = KANLayer(1, 2, 4, spline_order=3, seed=0, dtype=F64)
    xs = 0.5 * _x(200, 1, seed=6)
    layer.update_grid(xs, grid_eps=1.0)
    assert layer.basis.uniform
    lo, hi = float(xs.min()), float(xs.max())
    np.testing.assert_allclose(layer.grid[0, 3:8].numpy(), np.linspace(lo, hi, 5), atol=1e-15)


def test_kan_update_grid_adapts_every_layer_to_its_inputs() -> None:
    model = KAN([2, 3, 1], grid_size=5, spline_order=3, seed=0, dtype=F64)
    x = _x(1000, 2, seed=7)
    h = model.layers[0](x).detach()
    model.update_grid(x)
    for i in range(2):
        np.testing.assert_allclose(float(model.layers[0].grid[i, 3]), float(x[:, i].min()))
    # the second layer's grid spans (approximately) its inputs after the first update
    h_new = model.layers[0](x).detach()
    assert torch.allclose(h_new, h, atol=2e-2)
    np.testing.assert_allclose(model.layers[1].grid[:, 3].numpy(), h_new.min(0).values.numpy())


def test_least_squares_cubic_fit_converges_at_fourth_order() -> None:
    f = lambda t: np.sin(3 * t) + np.exp(0.5 * t)  # noqa: E731
    x_fit = np.linspace(-1, 1, 4001)
    x_test = np.linspace(-1, 1, 2999)
    sizes = [4, 8, 16, 32, 64]
    errors = []
    for g in sizes:
        basis = BSplineBasis(1, g, 3, dtype=F64)
        design = basis(torch.tensor(x_fit[:, None]))[:, 0]
        coef = torch.linalg.lstsq(design, torch.tensor(f(x_fit))[:, None]).solution
        pred = (basis(torch.tensor(x_test[:, None]))[:, 0] @ coef)[:, 0].numpy()
        errors.append(np.abs(pred - f(x_test)).max())
    slope = np.polyfit(np.log(sizes), np.log(errors), 1)[0]
    assert slope < -3.5, (slope, errors)


def test_load_state_dict_adopts_extended_grid() -> None:
    model = KAN([2, 3, 1], grid_size=5, spline_order=3, seed=0, dtype=F64)
    model.extend_grid(9)
    fresh = KAN([2, 3, 1], grid_size=5, spline_order=3, seed=1, dtype=F64)
    fresh.load_state_dict(model.state_dict())
    assert fresh.grid_size == 9
    x = _x(50, 2)
    torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)


def test_grid_operations_need_bspline_and_valid_sizes() -> None:
    model = KAN([2, 3, 1], basis="chebyshev", seed=0)
    assert not model.supports_grid_updates
    with pytest.raises(ValueError, match="basis"):
        model.extend_grid(10)
    with pytest.raises(ValueError, match="basis"):
        model.update_grid(torch.zeros(10, 2))
    model = KAN([2, 3, 1], seed=0)
    assert model.supports_grid_updates
    with pytest.raises(ValueError, match="new_grid_size"):
        model.extend_grid(0)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        model.update_grid(torch.zeros(10, 3))
    with pytest.raises(ValueError, match="grid_eps"):
        model.update_grid(torch.rand(10, 2), grid_eps=-0.5)


def test_repeated_samples_with_zero_eps_raise_clearly() -> None:
    layer = KANLayer(1, 1, 5, spline_order=3, seed=0)
    xs = torch.cat([torch.zeros(90, 1), torch.linspace(-1, 1, 10)[:, None]])
    with pytest.raises(ValueError, match="grid_eps"):
        layer.update_grid(xs, grid_eps=0.0)
    layer.update_grid(xs, grid_eps=0.1)  # blending restores strictly increasing knots
