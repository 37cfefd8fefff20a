"""Chebyshev and Gaussian-RBF bases: values against numpy references, analytic derivatives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.polynomial import chebyshev as npcheb

from kanpde.models.bases.chebyshev import ChebyshevBasis
from kanpde.models.bases.factory import BASES, make_basis
from kanpde.models.bases.rbf import RBFBasis

F64 = torch.float64


def _x(n: int = 200, d: int = 2, scale: float = 3.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return (torch.rand(n, d, dtype=F64, generator=g) * 2 - 1) * scale


def _autograd_derivatives(basis, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """d/dx and d2/dx2 of every basis function by nested autograd: (N, in, n) each."""
    x = x.clone().requires_grad_(True)
    values = basis(x)
    d1, d2 = [], []
    for b in range(values.shape[-1]):
        (g,) = torch.autograd.grad(values[..., b].sum(), x, create_graph=True)
        (h,) = torch.autograd.grad(g.sum(), x, retain_graph=True)
        d1.append(g.detach())
        d2.append(h)
    return torch.stack(d1, -1), torch.stack(d2, -1)


@pytest.mark.parametrize("degree", [0, 1, 2, 5, 9])
def test_chebyshev_values_match_numpy(degree: int) -> None:
    basis = ChebyshevBasis(2, degree)
    x = _x()
    values = basis.evaluate(x, 0)[0]
    assert values.shape == (200, 2, degree + 1)
    z = np.tanh(x.numpy())
    for m in range(degree + 1):
        ref = npcheb.chebval(z, np.eye(degree + 1)[m])
        np.testing.assert_allclose(values[..., m].numpy(), ref, rtol=0, atol=1e-13)
    assert float(values.abs().max()) <= 1.0 + 1e-14


@pytest.mark.parametrize("degree", [1, 4, 7])
def test_chebyshev_derivatives(degree: int) -> None:
    basis = ChebyshevBasis(2, degree)
    x = _x(60)
    _, d1, d2 = basis.evaluate(x, 2)
    a1, a2 = _autograd_derivatives(basis, x)
    torch.testing.assert_close(d1, a1, rtol=0, atol=1e-12)
    torch.testing.assert_close(d2, a2, rtol=0, atol=1e-11)
    # analytic at x = 0: z = 0, z' = 1, z'' = 0 -> dT_m/dx = T_m'(0) = m sin(m pi / 2)
    _, d1_0, _ = basis.evaluate(torch.zeros(1, 2, dtype=F64), 2)
    ref = torch.tensor([m * np.sin(m * np.pi / 2) for m in range(degree + 1)], dtype=F64)
    torch.testing.assert_close(d1_0[0, 0], ref, rtol=0, atol=1e-13)


def test_rbf_values_and_derivatives() -> None:
    basis = RBFBasis(3, n_centers=6, grid_range=(-2.0, 1.0), dtype=F64)
    x = _x(80, 3, 2.5)
    b0, b1, b2 = basis.evaluate(x, 2)
    c = np.linspace(-2.0, 1.0, 6)
    w = 3.0 / 5
    u = (x.numpy()[..., None] - c) / w
    np.testing.assert_allclose(b0.numpy(), np.exp(-(u**2)), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(b1.numpy(), -2 * u / w * np.exp(-(u**2)), rtol=1e-13,
                               atol=1e-14)
    np.testing.assert_allclose(b2.numpy(), (4 * u**2 - 2) / w**2 * np.exp(-(u**2)),
                               rtol=1e-13, atol=1e-13)
    a1, a2 = _autograd_derivatives(basis, x)
    torch.testing.assert_close(b1, a1, rtol=0, atol=1e-12)
    torch.testing.assert_close(b2, a2, rtol=0, atol=1e-11)


def test_rbf_custom_width_and_buffers_move() -> None:
    basis = RBFBasis(1, n_centers=4, width=0.25)
    assert float(basis.width) == 0.25
    basis = basis.to(F64)
    assert basis.centers.dtype == F64
    assert set(basis.state_dict()) == {"centers", "width"}


def test_make_basis_defaults_have_g_plus_k_functions() -> None:
    for name in BASES:
        basis = make_basis(name, 2, grid_size=6, spline_order=2)
        assert basis.n_functions == 8, name


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: make_basis("fourier", 2), "basis"),
        (lambda: make_basis("chebyshev", 2, n_centers=3), "n_centers"),
        (lambda: make_basis("bspline", 2, degree=3), "degree"),
        (lambda: ChebyshevBasis(2, -1), "degree"),
        (lambda: RBFBasis(2, n_centers=1), "n_centers"),
        (lambda: RBFBasis(2, width=0.0), "width"),
        (lambda: RBFBasis(2, grid_range=(1.0, 1.0)), "grid_range"),
    ],
)
def test_bad_arguments_raise(call, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()


def test_unknown_basis_lists_allowed_names() -> None:
    with pytest.raises(ValueError, match="bspline.*chebyshev.*rbf"):
        make_basis("wavelet", 2)
