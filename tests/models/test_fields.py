"""Fields: a solver network beside field networks of some of the inputs. Values are the parts'
outputs side by side, jets equal autograd's derivatives in every coordinate (zero along a
coordinate a field does not see), grid methods reach every KAN part. float64."""

from __future__ import annotations

import pytest
import torch

from kanpde.models import KAN, MLP, Jet, ScaledModel, backbone
from kanpde.models.fields import Fields

F64 = torch.float64
PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def _model(cols, field="kan"):
    main = ScaledModel(KAN([3, 4, 1], grid_size=4, seed=0, dtype=F64), [-1.0] * 3, [1.0] * 3)
    net = (KAN([len(cols), 3, 1], grid_size=4, seed=1, dtype=F64) if field == "kan"
           else MLP([len(cols), 5, 1], seed=1, dtype=F64))
    return Fields(main, {"a": (net, cols)}, 3)


def _points(n=7):
    g = torch.Generator().manual_seed(3)
    return torch.rand(n, 3, generator=g, dtype=F64) * 1.8 - 0.9


@pytest.mark.parametrize("cols", [[0, 2], [1, 2], [2]])
def test_outputs_are_the_parts_side_by_side(cols):
    model = _model(cols)
    x = _points()
    out = model(x)
    assert out.shape == (7, 2) and model.dim_out == 2
    torch.testing.assert_close(out[:, :1], model.main(x), rtol=0, atol=0)
    torch.testing.assert_close(out[:, 1:], model.fields["a"](x[:, cols]), rtol=0, atol=0)


@pytest.mark.parametrize("field", ["kan", "mlp"])
@pytest.mark.parametrize("cols", [[0, 2], [0, 1], [1]])
def test_jets_equal_autograd_in_every_coordinate(cols, field):
    model = _model(cols, field)
    x = _points().requires_grad_(True)
    jet = model.forward_jet(Jet.seed(x.detach(), PAIRS))
    out = model(x)
    for j in range(2):
        (g,) = torch.autograd.grad(out[:, j].sum(), x, create_graph=True)
        torch.testing.assert_close(jet.d1[:, :, j], g, rtol=1e-12, atol=1e-12)
        for p, (a, b) in enumerate(PAIRS):
            (h,) = torch.autograd.grad(g[:, a].sum(), x, retain_graph=True)
            torch.testing.assert_close(jet.d2[:, p, j], h[:, b], rtol=1e-11, atol=1e-11)
    unseen = [c for c in range(3) if c not in cols]
    assert torch.all(jet.d1[:, unseen, 1] == 0)


def test_grid_methods_reach_every_kan_part_and_keep_the_function():
    model = _model([0, 2])
    x = _points(50)
    before = model(x).detach()
    model.extend_grid(8, x)
    assert backbone(model).grid_size == 8 and model.fields["a"].grid_size == 8
    assert model.grid_size == 8 and model.supports_grid_updates
    torch.testing.assert_close(model(x), before, rtol=1e-6, atol=1e-6)
    model.update_grid(x)  # adapts both grids to the samples of their own columns
    assert model(x).shape == (50, 2)


def test_a_field_mlp_has_no_grid_and_the_main_kan_still_extends():
    model = _model([0], field="mlp")
    model.extend_grid(6)
    assert backbone(model).grid_size == 6


@pytest.mark.parametrize(
    ("cols", "net", "match"),
    [([3], None, "distinct indices in 0..2"), ([0, 0], None, "distinct"), ([], None, "distinct"),
     ([0], MLP([1, 4, 2], seed=0), "one output")],
)
def test_bad_fields_are_refused(cols, net, match):
    net = net if net is not None else MLP([max(len(cols), 1), 4, 1], seed=0)
    with pytest.raises(ValueError, match=match):
        Fields(MLP([3, 4, 1], seed=0), {"a": (net, cols)}, 3)
    with pytest.raises(ValueError, match="at least one"):
        Fields(MLP([3, 4, 1], seed=0), {}, 3)
