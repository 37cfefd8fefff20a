"""One wrapper protocol: scaling, embeddings and the hard constraint all ``unwrap()`` to
``(inner, input map)``, and the backbone is found through it."""

from __future__ import annotations

import torch
from kanpde.problems.poisson import Poisson

from kanpde.models import KAN, MLP, Embedded, FourierEmbedding, ScaledModel
from kanpde.models.backbone import backbone, kan_backbone
from kanpde.models.kan.edges import edge_functions, first_kan_layer
from kanpde.models.wrapper import InputMapped
from kanpde.pde import HardConstraint

F64 = torch.float64


def _stack():
    problem = Poisson()
    kan = KAN([6, 3, 1], grid_size=4, seed=0, dtype=F64)
    emb = FourierEmbedding(2, 2, 1.0, seed=1).to(F64)
    scaled = ScaledModel(Embedded(emb, kan), [-1.0, -1.0], [1.0, 1.0])
    return problem, kan, emb, scaled, HardConstraint(scaled, problem)


def test_every_wrapper_unwraps_to_its_inner_network_and_input_map():
    _, kan, emb, scaled, constrained = _stack()
    x = torch.rand(7, 2, dtype=F64) * 2 - 1
    inner, to_inner = constrained.unwrap()
    assert inner is scaled and torch.equal(to_inner(x), x)
    inner, to_inner = scaled.unwrap()
    assert isinstance(scaled, InputMapped) and isinstance(inner, Embedded)
    torch.testing.assert_close(to_inner(x), scaled.scaling(x))
    inner, to_inner = scaled.net.unwrap()
    assert inner is kan and to_inner is emb


def test_the_backbone_and_the_kan_inputs_are_found_through_unwrap():
    _, kan, emb, scaled, constrained = _stack()
    x = torch.rand(5, 2, dtype=F64) * 4 - 2
    assert backbone(constrained) is kan
    found, xk = kan_backbone(constrained, x)
    assert found is kan
    torch.testing.assert_close(xk, emb(scaled.scaling(x)))
    torch.testing.assert_close(kan(xk), scaled(x))
    mlp = ScaledModel(MLP([2, 4, 1]), [0.0, 0.0], [1.0, 1.0])
    assert isinstance(backbone(mlp), MLP) and first_kan_layer(mlp) is None


def test_edge_functions_of_a_wrapped_kan_are_its_first_layers():
    _, kan, _, _, constrained = _stack()
    assert first_kan_layer(constrained) is kan.layers[0]
    edges = edge_functions(constrained, 9)
    assert edges["x"].shape == (9, 6) and edges["phi"].shape == (9, 6, 3)
    x = torch.as_tensor(edges["x"])
    out = kan.layers[0](x).detach().numpy()
    torch.testing.assert_close(torch.as_tensor(edges["phi"].sum(axis=1)), torch.as_tensor(out))
