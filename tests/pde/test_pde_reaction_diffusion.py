"""The 2-D spectral ETDRK4 Gray-Scott reference: fourth order in time, spectral in space once
the ring is resolved, its solution satisfies the equations, bad arguments refused (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from kanpde.pde.reference.reaction_diffusion import gray_scott

EPS, B, D = (1e-5, 5e-6), 0.04, 0.1  # PINNacle's GS


def u0(x, y):
    return 1 - np.exp(-80 * ((x + 0.05) ** 2 + (y + 0.02) ** 2))


def v0(x, y):
    return np.exp(-80 * ((x - 0.05) ** 2 + (y - 0.02) ** 2))


def test_gray_scott_is_fourth_order_in_time():
    finals = {dt: gray_scott(u0, v0, modes=64, dt=dt, t_end=40.0, n_out=2)[2][-1]
              for dt in (2.0, 1.0, 0.5, 0.125)}
    errs = [np.abs(finals[dt] - finals[0.125]).max() for dt in (2.0, 1.0, 0.5)]
    assert errs[0] / errs[1] > 10 and errs[1] / errs[2] > 10, errs  # 2^4 = 16


def test_gray_scott_is_spectral_in_space_once_resolved():
    """Against 512 nodes per axis at t = 50: 128 -> 256 nodes shrinks the error about 100x
    (a fourth-order method would give 16x)."""
    space = {n: gray_scott(u0, v0, modes=n, dt=0.5, t_end=50.0, n_out=2)[2][-1]
             for n in (128, 256, 512)}
    e128 = np.abs(space[128] - space[512][:, ::4, ::4]).max()
    e256 = np.abs(space[256] - space[512][:, ::2, ::2]).max()
    assert e256 < 1e-3 and e128 / e256 > 30, (e128, e256)


def test_gray_scott_solution_satisfies_its_equations():
    """Spectral Laplacians and fourth-order central differences in t of the computed fields:
    the residual of both equations is what the time differences leave, a 1e-5 fraction of
    the time derivative."""
    n, h = 128, 0.05
    x, t, w = gray_scott(u0, v0, modes=n, dt=h / 4, t_end=2.0, n_out=41)  # w (41, 2, n, n)
    k = np.pi * np.fft.fftfreq(n, 1 / n)  # wavenumbers on [-1, 1)
    ky = np.pi * np.arange(n // 2 + 1)
    lap = np.fft.irfft2(-(k[:, None] ** 2 + ky[None, :] ** 2) * np.fft.rfft2(w), s=(n, n))
    wt = (w[:-4] - 8 * w[1:-3] + 8 * w[3:-1] - w[4:]) / (12 * h)
    mid = slice(2, -2)
    u, v = w[mid, 0], w[mid, 1]
    ru = wt[:, 0] - EPS[0] * lap[mid, 0] - B * (1 - u) + u * v * v
    rv = wt[:, 1] - EPS[1] * lap[mid, 1] + D * v - u * v * v
    scale = np.abs(wt).max()
    assert scale > 0.1
    assert np.abs(ru).max() < 1e-5 * scale and np.abs(rv).max() < 1e-5 * scale
    xx, yy = np.meshgrid(x, x, indexing="ij")
    np.testing.assert_allclose(w[0, 0], u0(xx, yy), rtol=0, atol=1e-15)
    np.testing.assert_allclose(w[0, 1], v0(xx, yy), rtol=0, atol=1e-15)
    np.testing.assert_allclose(t, np.linspace(0, 2.0, 41))


@pytest.mark.parametrize("kwargs, match", [
    ({"modes": 7}, "modes"), ({"eps": (0.0, 1e-5)}, "eps"), ({"dt": 0.0}, "dt"),
    ({"n_out": 1}, "n_out"), ({"dt": 8.0}, "non-finite"),
])
def test_gray_scott_refuses_bad_arguments(kwargs, match):
    args = {"modes": 32, "dt": 0.5, "t_end": 40.0, "n_out": 2, **kwargs}
    with np.errstate(all="ignore"), pytest.raises((ValueError, FloatingPointError), match=match):
        gray_scott(u0, v0, **args)
