"""Edge/node scores, pruning masks and the L1 + entropy penalty against hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kanpde.explain import (
    apply_masks,
    edge_scores,
    live_counts,
    node_scores,
    prune_masks,
)
from kanpde.models import KAN, ScaledModel
from kanpde.models.kan.edges import LayerActivations, network_activations
from kanpde.train import TrainConfig
from kanpde.train.config import ConfigError
from kanpde.train.sparsity import layer_entropy, sparsity_penalty


def _acts():
    # layer 0: 2 -> 3, layer 1: 3 -> 1; two points
    phi0 = torch.tensor([[[1.0, -0.1, 0.0], [2.0, 0.0, -0.4]],
                         [[-3.0, 0.1, 0.0], [2.0, 0.0, 0.2]]], dtype=torch.float64)
    phi1 = torch.tensor([[[0.5], [0.0], [1.0]], [[-0.5], [0.0], [-3.0]]], dtype=torch.float64)
    x0 = torch.zeros(2, 2, dtype=torch.float64)
    return [LayerActivations(x0, phi0), LayerActivations(phi0.sum(1), phi1)]


def test_edge_and_node_scores_by_hand():
    scores = edge_scores(_acts())
    # mean |phi|: layer 0 [[2, .1, 0], [2, 0, .3]] / 2; layer 1 [.5, 0, 2] / 2
    np.testing.assert_allclose(scores[0].numpy(), [[1, 0.05, 0], [1, 0, 0.15]], atol=1e-15)
    np.testing.assert_allclose(scores[1].numpy(), [[0.25], [0], [1]], atol=1e-15)
    nodes = node_scores(scores)
    np.testing.assert_allclose(nodes[0].numpy(), [1, 1])
    # hidden node i: min(max incoming, max outgoing) = min([1, .05, .15], [.25, 0, 1])
    np.testing.assert_allclose(nodes[1].numpy(), [0.25, 0, 0.15], atol=1e-15)
    np.testing.assert_allclose(nodes[2].numpy(), [1])


def test_prune_masks_remove_weak_edges_and_dead_nodes():
    scores = edge_scores(_acts())
    masks = prune_masks(scores, 0.1)
    # edge 0.0.1 (0.05) goes, so hidden node 1 has no input; its output edge had score 0
    # anyway; node 2 keeps input 0.1.2 (0.15) and output 1.2.0
    assert masks[0].tolist() == [[True, False, False], [True, False, True]]
    assert masks[1].tolist() == [[True], [False], [True]]
    edges, widths = live_counts(masks)
    assert edges == 5 and widths == [2, 2, 1]
    # at 0.2 node 2 loses its only input edge (0.15), so its strong output edge goes too
    masks = prune_masks(scores, 0.2)
    assert masks[0].tolist() == [[True, False, False], [True, False, False]]
    assert masks[1].tolist() == [[True], [False], [False]]
    # previous masks are respected (a pruned edge never comes back)
    prev = [torch.ones(2, 3, dtype=torch.bool), torch.tensor([[False], [True], [True]])]
    masks = prune_masks(scores, 0.0, prev)
    assert not masks[1][0, 0] and not masks[0][:, 0].any()
    with pytest.raises(ValueError, match="threshold"):
        prune_masks(scores, 1.5)


def test_apply_masks_checks_shapes():
    kan = KAN([2, 3, 1], seed=0, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"masks\[1\]"):
        apply_masks(kan, [torch.ones(2, 3), torch.ones(2, 1)])
    apply_masks(kan, [torch.ones(2, 3), torch.tensor([[1.0], [0.0], [1.0]])])
    assert kan.layers[1].edge_mask.tolist() == [[1.0], [0.0], [1.0]]


def test_entropy_by_hand():
    m = torch.tensor([[1.0, 3.0], [0.0, 4.0]], dtype=torch.float64)
    p = np.array([1, 3, 4]) / 8
    assert float(layer_entropy(m)) == pytest.approx(-(p * np.log(p)).sum(), rel=1e-14)


def test_sparsity_penalty_by_hand():
    kan = KAN([2, 3, 1], seed=1, noise_scale=1.0, dtype=torch.float64)
    model = ScaledModel(kan, [0.0, 0.0], [2.0, 1.0])
    pts = torch.rand(30, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    pts[:, 0] *= 2
    s = torch.stack([pts[:, 0] - 1, 2 * pts[:, 1] - 1], dim=1)
    expect = 0.0
    for act in network_activations(kan, s):
        m = act.phi.detach().abs().mean(0).numpy()
        p = m / m.sum()
        expect += 0.3 * m.sum() + 0.7 * float(-(p * np.log(p)).sum())
    got = sparsity_penalty(model, pts, 0.3, 0.7)
    assert float(got.detach()) == pytest.approx(expect, rel=1e-12)
    got.backward()
    assert kan.layers[0].base_weight.grad is not None
    assert float(sparsity_penalty(model, pts, 0.0, 0.0)) == 0.0


def test_sparsity_config_is_validated():
    adam = {"phases": [{"optimizer": "adam", "steps": 10}]}
    cfg = TrainConfig.from_dict({**adam, "sparsity": {"l1": 1e-3, "entropy": 2e-3}})
    assert cfg.sparsity.active and cfg.sparsity.l1 == 1e-3
    assert not TrainConfig.from_dict({}).sparsity.active
    with pytest.raises(ConfigError, match="train.sparsity.l1"):
        TrainConfig.from_dict({**adam, "sparsity": {"l1": -1.0}})
    with pytest.raises(ConfigError, match="train.sparsity"):
        TrainConfig.from_dict({**adam, "sparsity": {"l2": 1.0}})


def test_trainer_adds_the_penalty():
    from kanpde.problems.poisson import Poisson

    from kanpde.pde import make_sampler
    from kanpde.train import Trainer

    problem = Poisson(variant="sinsin")
    losses = {}
    for l1 in (0.0, 0.5):
        model = ScaledModel(KAN([2, 3, 1], seed=0, dtype=torch.float64), [-1, -1], [1, 1])
        cfg = TrainConfig.from_dict({
            "phases": [{"optimizer": "adam", "steps": 1}], "n_interior": 64, "n_boundary": 16,
            "progress": False, "sparsity": {"l1": l1}})
        trainer = Trainer(problem, model, make_sampler("sobol"), cfg, seed=0)
        from kanpde.train.collocation import Collocation

        col = Collocation(problem, make_sampler("sobol"), 64, 16, cfg.resample, 0,
                          torch.device("cpu"), torch.float64)
        total, _, _ = trainer.loss(col.points)
        penalty = sparsity_penalty(model, col.points["residual"], l1, 0.0).detach()
        losses[l1] = (float(total.detach()), float(penalty))
    assert losses[0.5][0] == pytest.approx(losses[0.0][0] + losses[0.5][1], rel=1e-12)
    assert losses[0.5][1] > 0 and math.isfinite(losses[0.5][0])
