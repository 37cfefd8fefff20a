"""MLP, SIREN and random-Fourier-feature MLP: shapes, initialisation statistics, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kanpde.models import MLP, SIREN, FourierMLP

F64 = torch.float64


def test_mlp_shapes_and_xavier_normal_init() -> None:
    model = MLP([3, 200, 300, 2], seed=0)
    assert model(torch.zeros(7, 3)).shape == (7, 2)
    assert (model.dim_in, model.dim_out, model.widths) == (3, 2, [3, 200, 300, 2])
    w = model.layers[1].weight.detach().double()
    assert abs(float(w.std()) / math.sqrt(2 / 500) - 1) < 0.02
    assert abs(float(w.mean())) < 0.01 * math.sqrt(2 / 500) * 10
    assert all(float(layer.bias.detach().abs().max()) == 0 for layer in model.layers)


@pytest.mark.parametrize("activation", ["tanh", "sin", "silu", "gelu"])
def test_mlp_activation_is_applied(activation: str) -> None:
    model = MLP([1, 1, 1], activation=activation, seed=0, dtype=F64)
    with torch.no_grad():
        model.layers[0].weight.fill_(1.0)
        model.layers[1].weight.fill_(1.0)
    x = torch.linspace(-2, 2, 9, dtype=F64)[:, None]
    ref = {"tanh": torch.tanh, "sin": torch.sin, "silu": torch.nn.functional.silu,
           "gelu": torch.nn.functional.gelu}[activation](x)
    torch.testing.assert_close(model(x), ref)


def test_siren_sitzmann_initialisation() -> None:
    omega = 30.0
    model = SIREN([4, 256, 256, 1], omega_0=omega, seed=0)
    first = model.layers[0].weight.detach().double()
    hidden = model.layers[1].weight.detach().double()
    assert float(first.abs().max()) <= 1 / 4
    bound = math.sqrt(6 / 256) / omega
    assert float(hidden.abs().max()) <= bound
    # U(-r, r): std r / sqrt(3)
    assert abs(float(hidden.std()) / (bound / math.sqrt(3)) - 1) < 0.02
    assert abs(float(first.std()) / ((1 / 4) / math.sqrt(3)) - 1) < 0.1
    # activations of the first layer are sin(omega (W x + b)): output shape
    assert model(torch.rand(5, 4)).shape == (5, 1)


def test_siren_first_layer_output_distribution() -> None:
    """Sitzmann et al.: with this init, hidden pre-activations are ~ N(0, 1)-like (std ~ 1)."""
    model = SIREN([2, 512, 512, 1], omega_0=30.0, seed=1)
    x = torch.rand(2000, 2) * 2 - 1
    with torch.no_grad():
        h1 = torch.sin(30.0 * model.layers[0](x))
        pre2 = 30.0 * model.layers[1](h1)
    assert 0.5 < float(pre2.std()) < 1.5
    assert abs(float(h1.std()) - math.sqrt(0.5)) < 0.1  # arcsine distribution


def test_fourier_features_are_fixed_buffer_and_correct() -> None:
    model = FourierMLP([2, 16, 1], n_features=32, sigma=3.0, seed=0, dtype=F64)
    assert "embedding.B" in dict(model.named_buffers())
    assert all(p is not model.B for p in model.parameters())
    b = model.B.numpy()
    assert b.shape == (2, 32)
    assert abs(b.std() / 3.0 - 1) < 0.3
    x = torch.rand(5, 2, dtype=F64)
    feats = model.features(x).numpy()
    z = 2 * np.pi * x.numpy() @ b
    np.testing.assert_allclose(feats, np.concatenate([np.cos(z), np.sin(z)], 1), atol=1e-13)
    assert model(x).shape == (5, 1)
    assert model.net.widths == [64, 16, 1]


def test_fourier_mlp_is_an_mlp_behind_the_fourier_embedding() -> None:
    """The same numbers as the embedding followed by the MLP drawn from the same stream, and
    a state dict of the earlier layout (``B``, ``mlp.*``) loads to the same function."""
    from kanpde.models import FourierEmbedding

    model = FourierMLP([3, 8, 2], n_features=5, sigma=2.0, seed=4, dtype=F64)
    gen = torch.Generator().manual_seed(4)
    emb = FourierEmbedding(3, 5, 2.0, include_input=False, seed=gen, dtype=F64)
    net = MLP([10, 8, 2], "tanh", gen, dtype=F64)
    x = torch.rand(20, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(model(x), net(emb(x)), rtol=0, atol=0)
    old = {"B": model.B.clone(), **{"mlp." + k: v for k, v in net.state_dict().items()}}
    other = FourierMLP([3, 8, 2], n_features=5, sigma=2.0, seed=9, dtype=F64)
    other.load_state_dict(old)
    torch.testing.assert_close(other(x), model(x), rtol=1e-15, atol=1e-15)


def test_seeded_and_global_rng_free() -> None:
    state = torch.random.get_rng_state()
    a = MLP([2, 8, 1], seed=5)
    b = MLP([2, 8, 1], seed=5)
    SIREN([2, 8, 1])
    FourierMLP([2, 8, 1], seed=None)
    assert torch.equal(state, torch.random.get_rng_state())
    torch.testing.assert_close(a.layers[0].weight, b.layers[0].weight)


def test_to_double() -> None:
    for model in (MLP([2, 4, 1]), SIREN([2, 4, 1]), FourierMLP([2, 4, 1], n_features=3)):
        model = model.to(F64)
        assert model(torch.rand(3, 2, dtype=F64)).dtype == F64


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: MLP([2]), "widths"),
        (lambda: MLP([2, 0, 1]), "widths"),
        (lambda: MLP([2, 4, 1], activation="relu"), "activation"),
        (lambda: SIREN([2, 4, 1], omega_0=0.0), "omega_0"),
        (lambda: SIREN([2, 4, 1], hidden_omega_0=-1.0), "hidden_omega_0"),
        (lambda: FourierMLP([2, 4, 1], n_features=0), "n_features"),
        (lambda: FourierMLP([2, 4, 1], sigma=0.0), "sigma"),
        (lambda: FourierMLP([2, 4, 1], activation="elu"), "activation"),
        (lambda: MLP("abc"), "widths"),
    ],
)
def test_bad_arguments_raise(call, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()


def test_wrong_input_width_raises() -> None:
    for model in (MLP([3, 4, 1]), SIREN([3, 4, 1]), FourierMLP([3, 4, 1], n_features=2)):
        with pytest.raises(ValueError, match=r"\(N, 3\)"):
            model(torch.zeros(2, 2))
