"""Observations as a loss term and learnable coefficients (kanpde.pde.observations,
kanpde.pde.coefficients): files, generated data, the data residual, bad input."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
import torch
from kanpde.problems import Darcy, Heat, Kovasznay, LShape, Poisson

from kanpde.pde import ExactSolution
from kanpde.pde.coefficients import Coefficients
from kanpde.pde.observations import (
    Observations,
    generate_observations,
    load_observations,
    save_observations,
)


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_files_round_trip(tmp_path, suffix):
    obs = Observations(np.random.default_rng(0).random((7, 2)), np.arange(7.0), (0,))
    path = save_observations(tmp_path / f"d{suffix}", obs)
    back = load_observations(path)
    np.testing.assert_array_equal(back.x, obs.x)
    np.testing.assert_array_equal(back.u, np.arange(7.0)[:, None])
    assert back.components == (0,) and back.n == 7


def test_generated_observations_are_reference_values_with_the_stated_noise():
    p = Heat()
    clean = generate_observations(p, 200, 0.0, seed=3)
    exact = p.exact(torch.as_tensor(clean.x)).numpy()
    np.testing.assert_allclose(clean.u, exact, rtol=0, atol=1e-15)
    assert len(np.unique(clean.x, axis=0)) == 200
    noisy = generate_observations(p, 200, 0.05, seed=3)
    np.testing.assert_array_equal(noisy.x, clean.x)
    rel = np.std(noisy.u - clean.u) / np.sqrt(np.mean(clean.u**2))
    assert 0.04 < rel < 0.06
    again = generate_observations(p, 200, 0.05, seed=3)
    np.testing.assert_array_equal(again.u, noisy.u)


def test_the_data_residual_vanishes_for_the_exact_solution_only():
    p = Kovasznay()
    p.add_observations(generate_observations(p, 50, 0.0, seed=0, components=[0, 2]))
    assert p.terms[-1] == "data" and p.loss_weights["data"] == 1.0
    pts = p.sample_points("sobol", 64, 64, seed=0)
    assert pts["data"].shape == (50, 2 + 2)
    res = p.pointwise(ExactSolution(p), pts, engine="autograd")
    assert res["data"].shape == (50, 2) and float(res["data"].abs().max()) < 1e-14
    for term in ("residual", "velocity", "pressure"):  # the other terms are unchanged
        assert float(res[term].detach().abs().max()) < 1e-10

    class Off(ExactSolution):
        def forward(self, x):
            return super().forward(x) + 0.25

    assert float(p.pointwise(Off(p), pts)["data"].abs().min()) > 0.249
    # the data rows do not move when the collocation points are redrawn
    torch.testing.assert_close(p.sample_points("sobol", 64, 64, seed=5)["data"], pts["data"])


def test_observations_on_a_shape_must_lie_in_the_shape():
    p = LShape("sinsin")
    p.add_observations(generate_observations(p, 30, seed=0))  # the test grid lies inside
    q = LShape("sinsin")
    bad = Observations(np.array([[0.0, 0.5], [0.5, -0.5]]), np.zeros(2), (0,), source="f")
    with pytest.raises(ValueError, match=r"1 of 2 data points lie outside the domain.*0\.5, -0\.5"):
        q.add_observations(bad)


@pytest.mark.parametrize(("make", "match"), [
    (lambda d: d / "x.csv", "unsupported data file type '.csv'"),
    (lambda d: d / "missing.npz", "no such data file"),
    (lambda d: _npz(d, x=np.zeros((0, 2)), u=np.zeros((0, 1))), "the data file is empty"),
    (lambda d: _npz(d, x=np.zeros((3, 2))), "no array 'u'"),
    (lambda d: _npz(d, x=np.zeros((3, 2)), u=np.zeros((4, 1))), r"u must have shape \(N, 1\)"),
    (lambda d: _npz(d, x=np.full((2, 2), np.nan), u=np.zeros(2)), "must be finite"),
    (lambda d: _h5(d), "cannot read the data file"),
])
def test_bad_data_files_get_one_line_errors(tmp_path, make, match):
    with pytest.raises(ValueError, match=match) as info:
        load_observations(make(tmp_path))
    assert "\n" not in str(info.value)


def _npz(d, **arrays):
    np.savez(d / "d.npz", **arrays)
    return d / "d.npz"


def _h5(d):
    (d / "d.h5").write_bytes(b"not an hdf5 file")
    return d / "d.h5"


def test_dimensions_and_components_are_checked(tmp_path):
    p = Heat()
    with pytest.raises(ValueError, match="the points have 3 coordinates, the domain has 2"):
        p.add_observations(Observations(np.zeros((2, 3)), np.zeros(2), (0,), source="f"))
    with pytest.raises(ValueError, match=r"components must be distinct output indices in \[0, 1\)"):
        generate_observations(p, 5, components=[1])
    with pytest.raises(ValueError, match="only 10201 points"):
        generate_observations(p, 20000)
    with h5py.File(tmp_path / "two.h5", "w") as f:
        f["x"], f["u"] = np.zeros((2, 2)), np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"u must have shape \(N, 1\)"):
        load_observations(tmp_path / "two.h5")


def test_coefficients_are_positive_and_learned_in_log_space():
    c = Coefficients({"diffusion": 0.5, "rate": 3.0})
    assert c.names == ["diffusion", "rate"]
    assert float(c["rate"]) == pytest.approx(3.0, rel=1e-15)
    assert float(c.log["diffusion"]) == pytest.approx(math.log(0.5), rel=1e-15)
    assert c.values() == pytest.approx({"diffusion": 0.5, "rate": 3.0}, rel=1e-15)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="must be finite and > 0"):
            Coefficients({"diffusion": bad})


def test_a_learned_coefficient_replaces_the_fixed_one_in_the_operator_only():
    p = Heat()
    pts = p.sample_points("sobol", 200, 50, seed=0)
    p.learn({"diffusion": 1.0})  # the truth: the exact solution still solves the PDE
    res = p.pointwise(ExactSolution(p), {"residual": pts["residual"]})
    assert float(res["residual"].detach().abs().max()) < 1e-8
    p.learned.log["diffusion"].data.fill_(math.log(2.0))  # D = 2, the forcing keeps D = 1
    r = p.pointwise(ExactSolution(p), {"residual": pts["residual"]})["residual"]
    x = pts["residual"]
    expected = math.pi**2 * torch.exp(-x[:, 1:]) * torch.sin(math.pi * x[:, :1])  # -(D-1) u_xx
    torch.testing.assert_close(r.detach(), expected, rtol=1e-10, atol=1e-12)
    (g,) = torch.autograd.grad(r.sum(), p.learned.log["diffusion"])
    assert float(g) != 0.0


@pytest.mark.parametrize(("problem", "initial", "match"), [
    (Heat(), {"conductivity": 1.0}, "unknown coefficient 'conductivity' for Heat; learnable "
                                    "coefficients: diffusion"),
    (Poisson(), {"diffusion": 1.0}, "learnable coefficients: none"),
    (Darcy("smooth"), {"permeability": 1.0}, "learnable coefficients: none"),
])
def test_unknown_coefficients_are_refused(problem, initial, match):
    with pytest.raises(ValueError, match=match):
        problem.learn(initial)


def test_darcy_constant_permeability_solution():
    p = Darcy("constant", permeability=3.0)
    pts = p.sample_points("sobol", 500, 100, seed=0)
    res = p.pointwise(ExactSolution(p), pts, engine="autograd")
    assert all(float(r.detach().abs().max()) < 1e-8 for r in res.values())
    p.learn({"permeability": 1.5})
    r = p.pointwise(ExactSolution(p), {"residual": pts["residual"]})["residual"]
    assert float(r.detach().abs().max()) > 1.0
