import numpy as np
import pytest

from kanpde.pde.reference import allen_cahn_periodic, etdrk4_coefficients
from kanpde.pde.reference.spectral import initial_coefficients, kuramoto_sivashinsky


def bench_u0(x):
    return x**2 * np.cos(np.pi * x)


def smooth_u0(x):
    return 0.5 * np.sin(np.pi * x) + 0.3 * np.cos(2 * np.pi * x) - 0.2


def test_contour_coefficients_match_closed_forms():
    h = 0.1
    lin = np.array([-80.0, -30.0, 25.0, 60.0])  # |h L| >= 2.5: explicit formulas are accurate
    z = h * lin
    e, e2, q, f1, f2, f3 = etdrk4_coefficients(lin, h)
    ez = np.exp(z)
    np.testing.assert_allclose(e, ez, rtol=1e-15)
    np.testing.assert_allclose(e2, np.exp(z / 2), rtol=1e-15)
    np.testing.assert_allclose(q, h * (np.exp(z / 2) - 1) / z, rtol=1e-12)
    np.testing.assert_allclose(f1, h * (-4 - z + ez * (4 - 3 * z + z**2)) / z**3, rtol=1e-12)
    np.testing.assert_allclose(f2, h * (2 + z + ez * (z - 2)) / z**3, rtol=1e-12)
    np.testing.assert_allclose(f3, h * (-4 - 3 * z - z**2 + ez * (4 - z)) / z**3, rtol=1e-12)
    # z -> 0 limits (where the explicit formulas cancel catastrophically)
    _, _, q0, a, b, c = etdrk4_coefficients(np.array([0.0, 1e-9]), h)
    np.testing.assert_allclose(q0, h / 2, rtol=1e-8)
    np.testing.assert_allclose([a, b, c], np.full((3, 2), h / 6), rtol=1e-8)


def test_initial_projection_reproduces_resolved_modes():
    n = 16
    x = -1 + 2 * np.arange(n) / n
    for f in (smooth_u0, lambda s: np.cos(8 * np.pi * s + 0.3)):  # the second one is Nyquist
        v = initial_coefficients(f, n, 8, -1.0, 1.0)
        np.testing.assert_allclose(np.fft.irfft(v, n=n), f(x), atol=1e-14)


def test_etdrk4_is_fourth_order_in_time():
    kw = {"diffusion": 0.01, "reaction": 5.0, "modes": 64, "t_end": 0.2, "n_out": 2}
    ref = allen_cahn_periodic(bench_u0, dt=0.2 / 640, **kw)[2][-1]
    errs = [
        np.abs(allen_cahn_periodic(bench_u0, dt=0.2 / m, **kw)[2][-1] - ref).max()
        for m in (20, 40, 80)
    ]
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert errs[-1] > 1e-12  # still above rounding
    np.testing.assert_allclose(orders, 4.0, atol=0.25)


def test_spectral_accuracy_in_space_for_smooth_periodic_data():
    kw = {"diffusion": 0.01, "reaction": 5.0, "t_end": 0.2, "n_out": 2, "dt": 0.2 / 200}
    ref = allen_cahn_periodic(smooth_u0, modes=256, **kw)[2][-1]
    errs = {
        n: np.abs(allen_cahn_periodic(smooth_u0, modes=n, **kw)[2][-1] - ref[:: 256 // n]).max()
        for n in (16, 32, 64)
    }
    assert errs[16] / errs[32] > 50 and errs[32] / errs[64] > 1e4  # faster than any power
    assert errs[64] < 1e-9


def test_benchmark_initial_condition_converges_fast_in_space():
    # u0 = x^2 cos(pi x) has a kink at the periodic boundary; with the projected initial
    # condition the error still falls by more than 2^3 per doubling of the modes.
    kw = {"diffusion": 0.01, "reaction": 5.0, "t_end": 0.2, "n_out": 3, "dt": 0.2 / 200}
    x_ref, _, ref = allen_cahn_periodic(bench_u0, modes=512, **kw)
    errs = []
    for n in (32, 64, 128):
        x, t, u = allen_cahn_periodic(bench_u0, modes=n, **kw)
        np.testing.assert_array_equal(x, x_ref[:: 512 // n])
        np.testing.assert_array_equal(u[0], bench_u0(x))  # t = 0 row is exact
        errs.append(np.abs(u[-1] - ref[-1][:: 512 // n]).max())
    assert errs[0] / errs[1] > 8 and errs[1] / errs[2] > 8
    np.testing.assert_allclose(t, [0.0, 0.1, 0.2])


def test_steady_states_are_preserved():
    # u = 1 and u = -1 are exact steady states; u = 0 too.
    for c in (-1.0, 0.0, 1.0):
        u = allen_cahn_periodic(
            lambda x, c=c: np.full_like(x, c), 1e-4, 5.0, modes=32, dt=0.01, t_end=0.5, n_out=3
        )[2]
        np.testing.assert_allclose(u, c, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"modes": 15}, "modes"),
        ({"dt": 0.0}, "dt"),
        ({"n_out": 1}, "n_out"),
        ({"diffusion": -1.0}, "diffusion"),
        ({"ic_oversample": 0}, "ic_oversample"),
    ],
)
def test_invalid_arguments(kwargs, match):
    args = {"diffusion": 1e-3, "reaction": 5.0, "modes": 16, "dt": 0.1, "t_end": 0.1, "n_out": 2}
    with pytest.raises(ValueError, match=match):
        allen_cahn_periodic(bench_u0, **{**args, **kwargs})


KS = (100 / 16, 100 / 16**2, 100 / 16**4)  # PINNacle's alpha, beta, gamma


def ks_u0(x):
    return np.cos(x) * (1 + np.sin(x))


def test_kuramoto_sivashinsky_is_fourth_order_in_time_and_spectral_in_space():
    finals = {dt: kuramoto_sivashinsky(ks_u0, *KS, modes=256, dt=dt, t_end=0.5, n_out=3)[2][-1]
              for dt in (4e-4, 2e-4, 1e-4, 2.5e-5)}
    errs = [np.abs(finals[dt] - finals[2.5e-5]).max() for dt in (4e-4, 2e-4, 1e-4)]
    assert errs[0] / errs[1] > 10 and errs[1] / errs[2] > 10, errs  # 2^4 = 16
    space = {n: kuramoto_sivashinsky(ks_u0, *KS, modes=n, dt=1e-4, t_end=0.5, n_out=3)[2][-1]
             for n in (128, 256, 512)}
    e128 = np.abs(space[128] - space[512][::4]).max()
    e256 = np.abs(space[256] - space[512][::2]).max()
    assert e256 < 1e-5 and e128 / e256 > 1e3, (e128, e256)


def test_kuramoto_sivashinsky_solution_satisfies_its_equation():
    """Spectral x-derivatives (no dealiasing: 512 modes resolve the solution) and
    fourth-order central differences in t of the computed solution: the residual is what the
    time differences leave (h^4 u^(5) / 30), a 1e-5 fraction of u_t."""
    alpha, beta, gamma = KS
    h, n = 1e-3, 512
    x, t, u = kuramoto_sivashinsky(ks_u0, *KS, modes=n, dt=2e-5, t_end=0.2, n_out=201)
    k = np.fft.rfftfreq(n, d=1 / n)
    c = np.fft.rfft(u, axis=1)

    def dx(m):
        return np.fft.irfft((1j * k) ** m * c, n=n, axis=1)

    ut = (u[:-4] - 8 * u[1:-3] + 8 * u[3:-1] - u[4:]) / (12 * h)
    mid = slice(2, -2)
    res = ut + alpha * u[mid] * dx(1)[mid] + beta * dx(2)[mid] + gamma * dx(4)[mid]
    assert np.abs(ut).max() > 1.0
    assert np.abs(res).max() < 1e-5 * np.abs(ut).max(), np.abs(res).max()
    np.testing.assert_allclose(u[0], ks_u0(x), rtol=0, atol=1e-14)
