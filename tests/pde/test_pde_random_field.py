import numpy as np
import pytest
import torch

from kanpde.pde import GaussianRandomField


def test_field_is_reproducible_and_seed_dependent():
    a, b = GaussianRandomField(seed=3), GaussianRandomField(seed=3)
    x = torch.rand(100, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)
    assert not torch.allclose(a(x), GaussianRandomField(seed=4)(x))


def test_gradient_matches_autograd_and_numpy_matches_torch():
    f = GaussianRandomField(length_scale=0.15, seed=1)
    x = torch.rand(64, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x.requires_grad_(True)
    g, grad = f.value_and_gradient(x)
    (auto,) = torch.autograd.grad(g.sum(), x)
    torch.testing.assert_close(grad, auto, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(f.numpy(x.detach().numpy()), g.detach().numpy()[:, 0], atol=1e-12)


def test_field_statistics_match_sigma_and_length_scale():
    # Over many seeds, the pointwise variance is sigma^2 and the correlation at distance r is
    # exp(-r^2 / (2 l^2)) (squared-exponential covariance).
    sigma, ell = 0.7, 0.2
    pts = np.array([[0.3, 0.4], [0.3 + ell, 0.4], [0.3, 0.4 + 2 * ell]])
    vals = np.array([GaussianRandomField(ell, sigma, s).numpy(pts) for s in range(3000)])
    assert np.var(vals[:, 0]) == pytest.approx(sigma**2, rel=0.08)
    corr1 = np.corrcoef(vals[:, 0], vals[:, 1])[0, 1]
    corr2 = np.corrcoef(vals[:, 0], vals[:, 2])[0, 1]
    assert corr1 == pytest.approx(np.exp(-0.5), abs=0.05)
    assert corr2 == pytest.approx(np.exp(-2.0), abs=0.05)


def test_float32_and_shape_checks():
    f = GaussianRandomField(seed=0)
    assert f(torch.zeros(3, 2)).dtype == torch.float32
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        f(torch.zeros(3, 3))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"length_scale": -0.1}, "length_scale"), ({"sigma": 0.0}, "sigma"), ({"seed": -1}, "seed")],
)
def test_invalid_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GaussianRandomField(**kwargs)


def test_separable_evaluation_matches_the_direct_sum():
    f = GaussianRandomField(length_scale=0.1, sigma=0.5, seed=2)
    x = np.random.default_rng(0).random((300, 2)) * 1.5 - 0.2
    direct = f.numpy_direct(x)
    np.testing.assert_allclose(f.numpy(x), direct, atol=1e-12)
    xt = torch.as_tensor(x).requires_grad_(True)
    g, grad = f.value_and_gradient(xt)
    np.testing.assert_allclose(g.detach().numpy()[:, 0], direct, atol=1e-12)
    # gradient of the direct sum, in closed form
    theta = x @ f.wavevectors.T
    ref = (np.cos(theta) * f.sin_coef - np.sin(theta) * f.cos_coef) @ f.wavevectors
    np.testing.assert_allclose(grad.detach().numpy(), ref, atol=1e-11)


def test_three_dimensional_field_uses_the_direct_sum():
    f = GaussianRandomField(length_scale=0.5, seed=0, dim=3)
    x = torch.rand(20, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    g, grad = f.value_and_gradient(x)
    np.testing.assert_allclose(g.numpy()[:, 0], f.numpy_direct(x.numpy()), atol=1e-12)
    assert grad.shape == (20, 3)
