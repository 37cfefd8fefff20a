"""Periodic and Fourier embeddings: exact periodicity for every backbone; jets = autograd."""

from __future__ import annotations

import pytest
import torch

from kanpde.core.jet import Jet
from kanpde.models import (
    KAN,
    MLP,
    SIREN,
    Embedded,
    FourierEmbedding,
    FourierMLP,
    PeriodicEmbedding,
    ScaledModel,
)


def _backbone(family: str, dim_in: int):
    w = [dim_in, 8, 8, 1]
    return {
        "kan": lambda: KAN(w, grid_size=5, seed=0),
        "kan_chebyshev": lambda: KAN(w, basis="chebyshev", seed=0),
        "mlp": lambda: MLP(w, seed=0),
        "siren": lambda: SIREN(w, omega_0=3.0, seed=0),
        "fourier_mlp": lambda: FourierMLP(w, n_features=4, seed=0),
    }[family]()


FAMILIES = ["kan", "kan_chebyshev", "mlp", "siren", "fourier_mlp"]


@pytest.mark.parametrize("family", FAMILIES)
def test_periodic_embedding_makes_u_and_ux_periodic(family):
    emb = PeriodicEmbedding(2, [0])
    model = ScaledModel(Embedded(emb, _backbone(family, 3)), (-1.0, 0.0), (1.0, 1.0)).double()
    t = torch.linspace(0, 1, 17, dtype=torch.float64)
    lo = torch.stack([torch.full_like(t, -1.0), t], 1).requires_grad_(True)
    hi = torch.stack([torch.full_like(t, 1.0), t], 1).requires_grad_(True)
    ulo, uhi = model(lo), model(hi)
    assert float((ulo - uhi).detach().abs().max()) < 1e-12
    glo = torch.autograd.grad(ulo.sum(), lo)[0][:, 0]
    ghi = torch.autograd.grad(uhi.sum(), hi)[0][:, 0]
    assert float((glo - ghi).abs().max()) < 1e-12
    assert float(ulo.detach().std()) > 0  # not trivially constant


@pytest.mark.parametrize("embedding", ["periodic", "fourier"])
@pytest.mark.parametrize("family", ["kan", "mlp", "siren"])
def test_embedded_jets_equal_autograd(embedding, family):
    emb = PeriodicEmbedding(2, [1]) if embedding == "periodic" else FourierEmbedding(2, 3, seed=0)
    model = Embedded(emb, _backbone(family, emb.dim_out)).double()
    x = torch.rand(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    jet = model.forward_jet(Jet.seed(x, [(0, 0), (1, 1), (0, 1)]))
    xg = x.clone().requires_grad_(True)
    u = model(xg)
    g = torch.autograd.grad(u.sum(), xg, create_graph=True)[0]
    torch.testing.assert_close(jet.value, u, atol=1e-12, rtol=0)
    torch.testing.assert_close(jet.d1[:, :, 0], g, atol=1e-12, rtol=0)
    for p, (a, b) in enumerate(jet.pairs):
        h = torch.autograd.grad(g[:, a].sum(), xg, retain_graph=True)[0][:, b]
        torch.testing.assert_close(jet.d2[:, p, 0], h, atol=1e-10, rtol=0)


def test_embedded_kan_grid_methods_preserve_function():
    model = Embedded(PeriodicEmbedding(2, [0]), KAN([3, 4, 1], grid_size=5, seed=0)).double()
    x = torch.rand(200, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 2 - 1
    before = model(x)
    model.extend_grid(10, x)
    assert model.grid_size == 10 and model.supports_grid_updates
    torch.testing.assert_close(model(x), before, atol=1e-8, rtol=0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="axes"):
        PeriodicEmbedding(2, [2])
    with pytest.raises(ValueError, match="n_features"):
        FourierEmbedding(2, 0)
    with pytest.raises(ValueError, match="dim_in"):
        Embedded(PeriodicEmbedding(2, [0]), MLP([2, 4, 1]))
