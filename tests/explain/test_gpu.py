"""CUDA: activations, penalty, pruning and a fine-tuned SymbolicKAN stay on the GPU."""

from __future__ import annotations

import pytest
import torch

from kanpde.explain import (
    EdgeFit,
    SymbolicKAN,
    finetune,
    prune_model,
)
from kanpde.models import KAN, ScaledModel
from kanpde.models.kan.edges import model_activations
from kanpde.train.sparsity import sparsity_penalty


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_explain_on_cuda():
    from kanpde.problems.poisson import Poisson

    dev = torch.device("cuda")
    model = ScaledModel(KAN([2, 2, 1], seed=0, dtype=torch.float64, device=dev), [-1, -1], [1, 1])
    pts = torch.rand(64, 2, dtype=torch.float64, device=dev) * 2 - 1
    acts = model_activations(model, pts)
    assert acts[0].phi.device.type == "cuda"
    assert sparsity_penalty(model, pts, 1e-3, 1e-3).device.type == "cuda"
    masks = prune_model(model, pts, 0.0)
    assert all(m.all() for m in masks)
    locked = {(0, i, j): EdgeFit("x", 1.0, 1.0, 0.0, 0.0, 1, 0, 1) for i in range(2)
              for j in range(2)}
    locked.update({(1, i, 0): EdgeFit("cos", 0.5, 3.0, 0.0, 0.0, 1, 0, 2) for i in range(2)})
    sym = SymbolicKAN(model, locked)
    problem = Poisson(variant="sinsin")
    points = {k: v.to(dev) for k, v in problem.sample_points("sobol", 128, 32, seed=0).items()}
    losses = finetune(sym, problem, points, 3)
    assert losses[-1] <= losses[0]
    assert sym(pts).device.type == "cuda"
