"""Figures render headless and non-empty; pruning an over-wide KAN keeps its accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from kanpde.explain import (
    EdgeFit,
    LayerPlotData,
    current_masks,
    layer_figure,
    live_counts,
    network_figure,
    prune_model,
)
from kanpde.figures.style import save_figure
from kanpde.models import KAN, ScaledModel
from kanpde.pde import Box, Dirichlet, Problem, make_sampler
from kanpde.train import TrainConfig, Trainer


def _data(n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    x = np.repeat(np.linspace(-1, 1, 41)[:, None], n_in, axis=1)
    phi = np.sin(x[:, :, None] * rng.uniform(1, 3, (1, n_in, n_out)))
    mask = np.ones((n_in, n_out), dtype=bool)
    mask[0, -1] = False
    return LayerPlotData(x, phi, rng.uniform(-1, 1, (200, n_in)), rng.uniform(0, 1, (n_in, n_out)),
                         mask, {(0, 0): EdgeFit("sin", 1.0, 2.0, 0.0, 0.0, 0.99, 0.01, 2)})


def test_figures_render_headless(tmp_path):
    import matplotlib

    layers = [_data(2, 3, 0), _data(3, 1, 1)]
    figs = [network_figure(layers, ["x", "t"], "test"),
            *(layer_figure(d, l, ["x", "t"] if l == 0 else None) for l, d in enumerate(layers))]
    assert matplotlib.get_backend().lower() in ("agg", "module://matplotlib_inline.backend_inline")\
        or all(isinstance(f.canvas, object) for f in figs)
    for k, fig in enumerate(figs):
        assert isinstance(fig, Figure)
        path = save_figure(fig, tmp_path / f"f{k}.png")
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f0.png", "f1.png", "f2.png"]


class _Sine1D(Problem):
    """-u'' = pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0; u = sin(pi x)."""

    def __init__(self):
        domain = Box(["x"], [0.0], [1.0])
        super().__init__(domain, [Dirichlet("boundary", domain.faces(), 0.0)])

    def residual(self, u):
        return u.d2("x") + math.pi**2 * torch.sin(math.pi * u.x("x"))

    def exact(self, x):
        return torch.sin(math.pi * x)


def _config(steps, sparsity=None):
    return TrainConfig.from_dict({
        "phases": [{"optimizer": "lbfgs", "steps": steps, "max_iter": 20}],
        "n_interior": 128, "n_boundary": 2, "progress": False, "eval_every": steps,
        "sparsity": sparsity or {}})


def test_pruning_an_over_wide_kan_keeps_its_accuracy():
    """[1,6,1] on a solution one hidden node can carry: train with the sparsity penalty,
    polish without it (the unpruned model), prune, retrain briefly, compare."""
    problem = _Sine1D()
    sampler = make_sampler("sobol")
    model = ScaledModel(KAN([1, 6, 1], grid_size=5, seed=0, dtype=torch.float64), [0.0], [1.0])
    # sparsity 1e-2: strong enough that the network concentrates on one or two hidden nodes
    # before pruning (at 1e-3 the pruned/unpruned ratio varied 0.6x-3x with the seed, i.e.
    # with rounding); at 1e-2 it is 0.13x-0.86x over seeds 0-2
    Trainer(problem, model, sampler, _config(20, {"l1": 1e-2, "entropy": 1e-2}), seed=0).fit()
    before = Trainer(problem, model, sampler, _config(15), seed=0).fit().final["rel_l2"]
    assert before < 1e-3
    points = problem.sample_points(sampler, 128, 2, seed=0)
    masks = prune_model(model, torch.cat(list(points.values())), 0.2)
    edges, widths = live_counts(masks)
    assert edges <= 4 and widths[1] <= 2
    after = Trainer(problem, model, sampler, _config(30), seed=0).fit().final["rel_l2"]
    # the pruned, retrained model is as accurate as the unpruned one is required to be
    # (< 1e-3). Over seeds 0-3 (and two builds with different rounding) the unpruned [1,6,1]
    # reached 8.8e-6..1.7e-4 and the pruned ones 1.4e-5..4.2e-4: where L-BFGS lands moves
    # with rounding, so a per-seed ratio after/before (0.14x-20x seen) is not asserted
    assert after < 1e-3, (after, before)
    print(f"over-wide KAN [1,6,1]: edges 12 -> {edges}, rel_l2 {before:.2e} -> {after:.2e}")
    # retraining kept the pruned edges at exactly zero
    assert live_counts(current_masks(model.net))[0] == edges
    x = torch.linspace(0, 1, 50, dtype=torch.float64).unsqueeze(1)
    from kanpde.models.kan.edges import model_activations

    acts = model_activations(model, x)
    for act, m in zip(acts, masks, strict=True):
        assert torch.all(act.phi[:, ~m] == 0)
    with pytest.raises(ValueError, match="threshold"):
        prune_model(model, x, -0.1)
