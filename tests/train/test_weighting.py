"""Loss balancing moves weights in the documented directions; causal weights decrease in t."""

from __future__ import annotations

import torch

from kanpde.train.config import CausalConfig, RBAConfig, WeightingConfig
from kanpde.train.weighting import LossBalancer


def _balancer(**kw) -> LossBalancer:
    return LossBalancer(
        {"residual": 1.0, "boundary": 1.0},
        kw.get("weighting", WeightingConfig()),
        kw.get("rba", RBAConfig()),
        kw.get("causal", CausalConfig()),
        kw.get("time_axis"),
        kw.get("time_range"),
    )


def test_fixed_weights_stay():
    b = _balancer()
    assert b.weights() == {"residual": 1.0, "boundary": 1.0}
    assert not b.needs_gradients(0)


def test_grad_norm_raises_the_weight_of_the_small_gradient_term():
    # two-term toy loss: L_res = (10 theta)^2 has a large gradient, L_bc = (0.1 theta)^2 small
    theta = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    b = _balancer(weighting=WeightingConfig(scheme="grad_norm", every=1, alpha=0.0))
    assert b.needs_gradients(0)
    terms = {"residual": (10 * theta).pow(2).sum(), "boundary": (0.1 * theta).pow(2).sum()}
    b.update_grad_norm(terms, [theta])
    w = b.weights()
    assert w["boundary"] > w["residual"]
    # lambda_hat_t = (g_res + g_bc) / g_t with g_res = 200, g_bc = 0.02
    assert abs(w["residual"] - 200.02 / 200) < 1e-12
    assert abs(w["boundary"] - 200.02 / 0.02) < 1e-8
    # the balanced gradients are then equal
    assert abs(w["residual"] * 200 - w["boundary"] * 0.02) < 1e-8


def test_grad_norm_moving_average():
    theta = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    b = _balancer(weighting=WeightingConfig(scheme="grad_norm", every=1, alpha=0.5))
    terms = {"residual": (2 * theta).pow(2).sum(), "boundary": theta.pow(2).sum()}
    b.update_grad_norm(terms, [theta])  # g = 8 and 2: lambda_hat = 1.25 and 5
    assert abs(b.weights()["residual"] - (0.5 + 0.5 * 1.25)) < 1e-12
    assert abs(b.weights()["boundary"] - (0.5 + 0.5 * 5.0)) < 1e-12


def test_rba_weights_grow_where_the_residual_is_large():
    b = _balancer(rba=RBAConfig(enabled=True, eta=0.01, gamma=0.9))
    r = torch.tensor([[0.1], [1.0], [0.0]], dtype=torch.float64)
    x = torch.zeros(3, 2, dtype=torch.float64)
    loss0 = b.term_losses({"residual": r}, x)["residual"]
    assert torch.allclose(loss0, (r**2).mean())  # weights start at 1
    for _ in range(200):
        b.after_step({"residual": r}, x)
    a = b.rba_weights
    assert a[1] > a[0] > a[2]
    assert torch.allclose(a, 0.01 / (1 - 0.9) * r.abs().squeeze() / 1.0, atol=1e-9)
    b.reset_points()
    assert b.rba_weights is None


def test_causal_weights_non_increasing_in_time_at_start():
    causal = CausalConfig(enabled=True, n_slabs=8, eps_schedule=[1.0, 10.0], threshold=0.99)
    b = _balancer(causal=causal, time_axis=1, time_range=(0.0, 1.0))
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(400, 2, generator=gen, dtype=torch.float64)
    # an untrained network: residual of similar size everywhere
    r = 1.0 + 0.1 * torch.rand(400, 1, generator=gen, dtype=torch.float64)
    sq = (r**2).mean(dim=1)
    c = b.causal_weights(b.slab_losses(sq, x))
    assert c[0] == 1.0
    assert torch.all(c[1:] <= c[:-1])
    assert c[-1] < 0.01  # later slabs wait for the earlier ones
    loss = b.term_losses({"residual": r}, x)["residual"]
    assert loss < (r**2).mean()


def test_causal_eps_advances_when_all_slabs_are_resolved():
    causal = CausalConfig(enabled=True, n_slabs=4, eps_schedule=[1.0, 10.0], threshold=0.99)
    b = _balancer(causal=causal, time_axis=0, time_range=(0.0, 1.0))
    x = torch.linspace(0, 1, 40, dtype=torch.float64).unsqueeze(1)
    b.after_step({"residual": torch.full((40, 1), 1.0, dtype=torch.float64)}, x)
    assert b.eps == 1.0
    b.after_step({"residual": torch.full((40, 1), 1e-3, dtype=torch.float64)}, x)
    assert b.eps == 10.0
    assert b.log_row()["causal_eps"] == 10.0


def test_causal_needs_a_time_coordinate():
    import pytest

    with pytest.raises(ValueError, match="train.causal.enabled"):
        _balancer(causal=CausalConfig(enabled=True))


def test_grad_norm_leaves_exactly_satisfied_and_zero_weight_terms_alone():
    theta = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    b = LossBalancer(
        {"residual": 1.0, "periodic": 1.0, "off": 0.0},
        WeightingConfig(scheme="grad_norm", every=1, alpha=0.0),
        RBAConfig(), CausalConfig(), None, None,
    )
    terms = {
        "residual": (3 * theta).pow(2).sum(),
        "periodic": (1e-20 * theta).pow(2).sum(),  # rounding noise of an exact condition
        "off": (5 * theta).pow(2).sum(),
    }
    b.update_grad_norm(terms, [theta])
    w = b.weights()
    assert w["periodic"] == 1.0 and w["off"] == 0.0
    assert abs(w["residual"] - 1.0) < 1e-12
