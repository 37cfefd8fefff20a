"""B-spline basis against scipy.interpolate.BSpline (float64, tight)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline

from kanpde.models.bases.bspline import BSplineBasis, piece_matrices, uniform_knots

F64 = torch.float64


def scipy_basis(t: np.ndarray, k: int, x: np.ndarray, order: int) -> np.ndarray:
    """All ``n = len(t) - k - 1`` B-splines (or their ``order``-th derivative) at ``x``."""
    n = len(t) - k - 1
    if order > k:
        return np.zeros((len(x), n))
    spl = BSpline(t, np.eye(n), k, extrapolate=True)
    return spl.derivative(order)(x) if order else spl(x)


def assert_close(ours: np.ndarray, ref: np.ndarray, rtol: float = 1e-12) -> None:
    scale = max(1.0, float(np.abs(ref).max()))
    err = float(np.abs(ours - ref).max())
    assert err <= rtol * scale, f"max error {err:.3e} (scale {scale:.3e})"


def points_in_range(t: np.ndarray, k: int, g: int, seed: int = 0) -> np.ndarray:
    lo, hi = t[k], t[k + g]
    rng = np.random.default_rng(seed)
    return np.concatenate([t[k : k + g + 1], np.linspace(lo, hi, 41), rng.uniform(lo, hi, 60)])


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("g", [1, 3, 5, 8])
def test_uniform_matches_scipy_including_knots_and_ends(k: int, g: int) -> None:
    basis = BSplineBasis(2, g, k, (-1.0, 2.0), dtype=F64)
    t = basis.grid[0].numpy()
    xs = points_in_range(t, k, g)
    x = torch.tensor(np.stack([xs, xs[::-1]], axis=1))
    ours = basis.evaluate(x, 2)
    for order in range(3):
        ref = scipy_basis(t, k, xs, order)
        assert_close(ours[order][:, 0].numpy(), ref)
        assert_close(ours[order][:, 1].numpy(), ref[::-1])


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("g", [2, 6])
def test_nonuniform_matches_scipy(k: int, g: int) -> None:
    rng = np.random.default_rng(10 * k + g)
    t = np.sort(rng.uniform(-3.0, 4.0, g + 2 * k + 1))
    basis = BSplineBasis(1, g, k, dtype=F64)
    basis.set_grid(torch.tensor(t)[None], uniform=False)
    assert not basis.uniform
    xs = points_in_range(t, k, g, seed=k)
    ours = basis.evaluate(torch.tensor(xs[:, None]), 2)
    for order in range(3):
        assert_close(ours[order][:, 0].numpy(), scipy_basis(t, k, xs, order))


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_extension_region_is_true_bspline_of_extended_knots(k: int) -> None:
    """Outside [a, b] the functions are the B-splines of the extended knot vector."""
    g = 4
    basis = BSplineBasis(1, g, k, (-1.0, 1.0), dtype=F64)
    t = basis.grid[0].numpy()
    h = t[1] - t[0]
    pad = np.concatenate([t[0] - h * np.arange(k, 0, -1), t, t[-1] + h * np.arange(1, k + 1)])
    b = t[k + g]
    xs = np.linspace(t[0] - 0.3, t[-1] + 0.3, 301)
    xs = xs[np.abs(xs - b) > 1e-9]  # b itself follows the right-end convention
    ours = basis.evaluate(torch.tensor(xs[:, None]), 2)
    n = g + k
    for order in range(3):
        ref = np.nan_to_num(scipy_basis(pad, k, xs, order))[:, k : k + n]
        ref[(xs < t[0]) | (xs >= t[-1])] = 0.0
        assert_close(ours[order][:, 0].numpy(), ref)


def test_right_end_uses_last_interval_and_outside_is_zero() -> None:
    k, g = 2, 3
    basis = BSplineBasis(1, g, k, (0.0, 3.0), dtype=F64)
    t = basis.grid[0].numpy()
    x = torch.tensor([[3.0], [t[-1]], [t[-1] + 1.0], [t[0] - 1e-9]], dtype=F64)
    ours = basis.evaluate(x, 2)
    ref = scipy_basis(t, k, np.array([3.0]), 2)  # k = 2: the 2nd derivative jumps at b
    np.testing.assert_allclose(ours[2][0, 0].numpy(), ref[0], rtol=0, atol=1e-12)
    assert float(ours[2][0, 0].abs().sum()) > 0
    for order in range(3):
        assert float(ours[order][1:].abs().max()) == 0.0


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_partition_of_unity_inside_grid(k: int) -> None:
    basis = BSplineBasis(3, 7, k, (-2.0, 1.5), dtype=F64)
    x = torch.rand(500, 3, dtype=F64, generator=torch.Generator().manual_seed(1)) * 3.5 - 2.0
    b0, b1, b2 = basis.evaluate(x, 2)
    torch.testing.assert_close(b0.sum(-1), torch.ones(500, 3, dtype=F64), rtol=0, atol=1e-13)
    assert float(b1.sum(-1).abs().max()) < 1e-11
    assert float(b2.sum(-1).abs().max()) < 1e-9
    assert float(b0.min()) >= -1e-15


def test_local_values_scatter_to_dense() -> None:
    basis = BSplineBasis(2, 6, 3, dtype=F64)
    x = torch.rand(50, 2, dtype=F64) * 2.6 - 1.3
    start, values, mask = basis.local(x, 2)
    dense = basis.evaluate(x, 2)
    assert values.shape == (50, 2, 3, 4)
    for r in range(4):
        idx = start + r
        ok = (idx >= 0) & (idx < basis.n_functions) & mask[..., r]
        gathered = torch.gather(dense[0], 2, idx.clamp(0, basis.n_functions - 1)[..., None])
        torch.testing.assert_close(gathered[..., 0][ok], values[..., 0, r][ok])


def test_uniform_and_general_paths_agree() -> None:
    a = BSplineBasis(2, 5, 3, (-1.0, 1.0), dtype=F64)
    b = BSplineBasis(2, 5, 3, (-1.0, 1.0), dtype=F64)
    b.set_grid(a.grid.clone(), uniform=False)
    x = torch.linspace(-1.6, 1.6, 101, dtype=F64)[:, None].repeat(1, 2)
    for u, v in zip(a.evaluate(x, 2), b.evaluate(x, 2), strict=True):
        torch.testing.assert_close(u, v, rtol=0, atol=1e-12)


def test_second_derivative_by_autograd_matches_analytic() -> None:
    basis = BSplineBasis(1, 5, 3, dtype=F64)
    x = torch.rand(40, 1, dtype=F64, requires_grad=True) * 2 - 1
    coef = torch.randn(basis.n_functions, dtype=F64)
    f = basis(x)[:, 0] @ coef
    (g,) = torch.autograd.grad(f.sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    _, d1, d2 = basis.evaluate(x.detach(), 2)
    torch.testing.assert_close(g[:, 0], d1[:, 0] @ coef)
    torch.testing.assert_close(h[:, 0], d2[:, 0] @ coef)


def test_piece_matrices_reproduce_cardinal_spline() -> None:
    t = torch.arange(-3, 5, dtype=F64)[None]  # k = 3, G = 1: B_0 .. B_3 on [0, 1]
    p = piece_matrices(t, 3)[0, 3]  # interior interval
    # cubic cardinal B-spline pieces at s = 0: (1/6, 4/6, 1/6, 0)
    torch.testing.assert_close(p[0], torch.tensor([1 / 6, 4 / 6, 1 / 6, 0.0], dtype=F64))


def test_to_double_refreshes_tables() -> None:
    basis = BSplineBasis(1, 5, 3)
    assert basis.grid.dtype == torch.get_default_dtype()
    basis = basis.to(F64)
    x = torch.tensor([[0.3]], dtype=F64)
    assert basis(x).dtype == F64
    t = basis.grid[0].numpy()
    assert_close(basis(x)[0, 0].numpy(), scipy_basis(t, 3, np.array([0.3]), 0)[0], rtol=1e-7)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"grid_size": 0}, "grid_size"),
        ({"grid_size": 2.5}, "grid_size"),
        ({"spline_order": -1}, "spline_order"),
        ({"grid_range": (1.0, -1.0)}, "grid_range"),
        ({"grid_range": "ab"}, "grid_range"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        BSplineBasis(2, **kwargs)


def test_bad_input_width_and_order_raise() -> None:
    basis = BSplineBasis(3)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        basis(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="order"):
        basis.evaluate(torch.zeros(4, 3), 3)


def test_uniform_knots_exact_ends() -> None:
    t = uniform_knots(7, 3, (-0.3, 1.9), 2, dtype=F64)
    assert t.shape == (2, 14)
    assert float(t[0, 3]) == -0.3 and float(t[0, 10]) == 1.9
    torch.testing.assert_close(torch.diff(t[0]), torch.full((13,), 2.2 / 7, dtype=F64))


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("k", [1, 3, 4])
def test_local_support_matches_scipy_up_to_third_derivative(uniform: bool, k: int) -> None:
    """``local_support`` (used by the fused jet): slots with ``0 <= start + r < n`` carry the
    B-splines and their first three derivatives; points outside the knots use no slot."""
    g = 5
    basis = BSplineBasis(1, g, k, (-1.0, 1.5), dtype=F64)
    if not uniform:
        rng = np.random.default_rng(k)
        basis.set_grid(torch.tensor(np.sort(rng.uniform(-2.0, 2.5, g + 2 * k + 1)))[None],
                       uniform=False)
    t = basis.grid[0].numpy()
    xs = np.concatenate([points_in_range(t, k, g), [t[0] - 0.1, t[-1] + 0.1]])
    start, values = basis.local_support(torch.tensor(xs[:, None]), 3)
    assert values.shape == (len(xs), 1, 4, k + 1)
    n = basis.n_functions
    for order in range(4):
        ref = scipy_basis(t, k, xs, order)
        ours = np.zeros_like(ref)
        for r in range(k + 1):
            idx = (start[:, 0] + r).numpy()
            ok = (idx >= 0) & (idx < n)
            ours[np.nonzero(ok)[0], idx[ok]] = values[ok, 0, order, r].numpy()
        inside = (xs >= t[0]) & (xs < t[-1])
        assert_close(ours[inside], ref[inside], rtol=1e-10)
        assert not ours[~inside].any()
