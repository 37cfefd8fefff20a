"""Edge activations sum to the layer outputs; edge masks in forward, jets and state dicts."""

from __future__ import annotations

import pytest
import torch

from kanpde.models import KAN, Jet, ScaledModel
from kanpde.models.backbone import kan_backbone
from kanpde.models.kan.edges import (
    edge_activations,
    model_activations,
    network_activations,
)


def _kan(widths=(3, 4, 2), seed=0, **kw):
    return KAN(list(widths), grid_size=5, seed=seed, noise_scale=1.0, dtype=torch.float64, **kw)


@pytest.mark.parametrize("basis", ["bspline", "chebyshev", "rbf"])
def test_layer_outputs_are_sums_of_activations(basis):
    kan = _kan(basis=basis)
    x = torch.rand(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    acts = network_activations(kan, x)
    h = x
    for layer, act in zip(kan.layers, acts, strict=True):
        assert act.phi.shape == (50, layer.in_features, layer.out_features)
        torch.testing.assert_close(act.x, h, rtol=1e-12, atol=1e-12)
        h = layer(h)
        torch.testing.assert_close(act.output, h, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(acts[-1].output, kan(x), rtol=1e-12, atol=1e-12)


def test_single_edge_is_the_kan_paper_formula():
    kan = _kan((1, 1))
    layer = kan.layers[0]
    x = torch.linspace(-1, 1, 7, dtype=torch.float64).unsqueeze(1)
    silu = x * torch.sigmoid(x)
    spline = layer.basis(x)[:, 0, :] @ (layer.spline_coef[0, :, 0] * layer.spline_scale[0, 0])
    expect = layer.base_weight[0, 0] * silu[:, 0] + spline
    torch.testing.assert_close(edge_activations(layer, x)[:, 0, 0], expect, rtol=1e-13, atol=1e-13)


def test_model_activations_through_the_scaling():
    kan = _kan((2, 3, 1))
    model = ScaledModel(kan, [0.0, -2.0], [1.0, 2.0])
    pts = torch.rand(40, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    acts = model_activations(model, pts, batch=16)
    scaled = torch.stack([2 * pts[:, 0] - 1, pts[:, 1] / 2], dim=1)
    torch.testing.assert_close(acts[0].x, scaled, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(acts[-1].output, model(pts), rtol=1e-12, atol=1e-12)
    assert kan_backbone(model)[0] is kan


def test_no_kan_backbone_is_a_clear_error():
    from kanpde.models import MLP

    with pytest.raises(ValueError, match="no KAN backbone"):
        kan_backbone(MLP([2, 8, 1], dtype=torch.float64))


def test_masked_edges_vanish_in_forward_and_jets():
    kan = _kan((2, 3, 1), seed=3)
    with torch.no_grad():
        kan.layers[0].edge_mask[1, 2] = 0.0
        kan.layers[1].edge_mask[0, 0] = 0.0
    x = torch.rand(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    acts = network_activations(kan, x)
    assert torch.all(acts[0].phi[:, 1, 2] == 0) and torch.all(acts[1].phi[:, 0, 0] == 0)
    # reference: the same network with the masked edges' parameters zeroed
    ref = _kan((2, 3, 1), seed=3)
    with torch.no_grad():
        for l, (i, j) in ((0, (1, 2)), (1, (0, 0))):
            ref.layers[l].base_weight[i, j] = 0.0
            ref.layers[l].spline_coef[i, :, j] = 0.0
    torch.testing.assert_close(kan(x), ref(x), rtol=1e-13, atol=1e-13)
    for contraction in ("dense", "sparse", "edge"):
        for layer in kan.layers:
            layer.contraction = contraction
        xj = x.clone().requires_grad_(True)
        jet = kan.forward_jet(Jet.seed(xj, pairs=[(0, 1)]))
        torch.testing.assert_close(jet.value, kan(x), rtol=1e-12, atol=1e-12)
        grad = torch.autograd.grad(kan(xj).sum(), xj)[0]
        torch.testing.assert_close(jet.d1[:, :, 0], grad, rtol=1e-11, atol=1e-11)


def test_masked_edges_get_no_gradient():
    kan = _kan((2, 2, 1), seed=5)
    with torch.no_grad():
        kan.layers[0].edge_mask[0, 1] = 0.0
    x = torch.rand(10, 2, dtype=torch.float64)
    kan(x).pow(2).sum().backward()
    layer = kan.layers[0]
    assert float(layer.base_weight.grad[0, 1]) == 0.0
    assert torch.all(layer.spline_coef.grad[0, :, 1] == 0)
    assert float(layer.base_weight.grad[1, 1]) != 0.0


def test_state_dict_without_mask_loads_with_all_edges_active():
    kan = _kan((2, 3, 1), seed=6)
    state = {k: v for k, v in kan.state_dict().items() if not k.endswith("edge_mask")}
    other = _kan((2, 3, 1), seed=7)
    with torch.no_grad():
        other.layers[0].edge_mask.zero_()
    other.load_state_dict(state)
    assert all(torch.all(layer.edge_mask == 1) for layer in other.layers)
    x = torch.rand(8, 2, dtype=torch.float64)
    torch.testing.assert_close(other(x), kan(x), rtol=0, atol=0)
