"""InputScaling / ScaledModel, parameter counting and width matching."""

from __future__ import annotations

import pytest
import torch

from kanpde.models import (
    KAN,
    MLP,
    SIREN,
    FourierMLP,
    InputScaling,
    ScaledModel,
    count_parameters,
    match_width,
    parameter_count,
)

F64 = torch.float64


def test_input_scaling_maps_box_to_unit_cube() -> None:
    scaling = InputScaling([0.0, -2.0], [1.0, 6.0], dtype=F64)
    x = torch.tensor([[0.0, -2.0], [1.0, 6.0], [0.5, 2.0]], dtype=F64)
    torch.testing.assert_close(scaling(x), torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]],
                                                        dtype=F64))


def test_scaled_model_forwards_grid_operations_with_scaled_samples() -> None:
    lo, hi = [0.0, 0.0], [2.0, 4.0]
    net = KAN([2, 3, 1], grid_size=5, spline_order=3, seed=0, dtype=F64)
    model = ScaledModel(net, lo, hi)
    assert model.net is net and model.widths == [2, 3, 1]
    assert (model.dim_in, model.dim_out, model.grid_size) == (2, 1, 5)
    assert model.supports_grid_updates
    g = torch.Generator().manual_seed(0)
    x = torch.rand(400, 2, dtype=F64, generator=g) * torch.tensor([2.0, 4.0], dtype=F64)
    torch.testing.assert_close(model(x), net(2 * x / torch.tensor(hi, dtype=F64) - 1))
    before = model(x).detach()
    model.extend_grid(10)
    assert net.grid_size == 10
    h = net.layers[0](model.scaling(x))
    inside = (h.abs() <= 1).all(1)
    assert float((model(x) - before)[inside].detach().abs().max()) < 1e-10
    model.update_grid(x)
    scaled = model.scaling(x)
    torch.testing.assert_close(net.layers[0].grid[:, 3], scaled.min(0).values)


def test_scaled_model_validation_and_state() -> None:
    with pytest.raises(ValueError, match="hi"):
        ScaledModel(MLP([2, 3, 1]), [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="dim_in"):
        ScaledModel(MLP([2, 3, 1]), [0.0], [1.0])
    model = ScaledModel(MLP([2, 3, 1], seed=0), [0.0, 0.0], [1.0, 2.0])
    assert {"scaling.lo", "scaling.hi"} <= set(model.state_dict())
    model = model.to(F64)
    assert model(torch.rand(2, 2, dtype=F64)).dtype == F64


@pytest.mark.parametrize(
    ("family", "model", "kwargs"),
    [
        ("kan", KAN([2, 7, 3, 1], grid_size=6, spline_order=2), {"grid_size": 6,
                                                                 "spline_order": 2}),
        ("kan", KAN([2, 7, 1], basis="chebyshev", degree=4), {"basis": "chebyshev",
                                                              "degree": 4}),
        ("kan", KAN([2, 7, 1], basis="rbf", n_centers=5), {"basis": "rbf", "n_centers": 5}),
        ("mlp", MLP([2, 7, 3, 1]), {}),
        ("siren", SIREN([2, 7, 3, 1]), {}),
        ("fourier", FourierMLP([2, 7, 3, 1], n_features=9), {"n_features": 9}),
    ],
)
def test_parameter_count_formula_matches_models(family, model, kwargs) -> None:
    assert parameter_count(family, model.widths, **kwargs) == count_parameters(model)


def test_count_parameters_ignores_frozen() -> None:
    model = MLP([2, 3, 1])
    model.layers[0].weight.requires_grad_(False)
    assert count_parameters(model) == 3 + (3 + 1)  # bias 0, then weight and bias of layer 1


@pytest.mark.parametrize(
    ("family", "target", "depth", "kwargs"),
    [
        ("mlp", 1300, 3, {}),
        ("mlp", 11200, 2, {}),
        ("siren", 5000, 3, {}),
        ("fourier", 20000, 2, {"n_features": 32}),
        ("kan", 1300, 2, {"grid_size": 5}),
        ("kan", 50000, 1, {"grid_size": 20}),
    ],
)
def test_match_width_within_ten_percent(family, target, depth, kwargs) -> None:
    w = match_width(family, target, 2, 1, depth, **kwargs)
    count = parameter_count(family, [2] + [w] * depth + [1], **kwargs)
    assert abs(count - target) <= 0.1 * target
    for other in (w - 1, w + 1):
        if other >= 1:
            other_count = parameter_count(family, [2] + [other] * depth + [1], **kwargs)
            assert abs(other_count - target) >= abs(count - target)


def test_match_width_validation() -> None:
    with pytest.raises(ValueError, match="family"):
        match_width("transformer", 100, 2, 1, 2)
    with pytest.raises(ValueError, match="depth"):
        match_width("mlp", 100, 2, 1, 0)
    with pytest.raises(ValueError, match="target_params"):
        match_width("mlp", 0, 2, 1, 2)
