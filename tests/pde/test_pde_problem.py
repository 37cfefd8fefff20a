import math

import numpy as np
import pytest
import torch
from torch import nn

from kanpde.pde import (
    Box,
    Dirichlet,
    ExactSolution,
    HardConstraint,
    InitialValue,
    Periodic,
    Problem,
)


class Advection(Problem):
    """u_t + u_x = 0 on [0, 2) x [0, 1], periodic; exact u = sin(pi (x - t))."""

    def __init__(self, loss_weights=None, transform=False):
        box = Box(("x", "t"), (0.0, 0.0), (2.0, 1.0))
        self._transform = transform
        super().__init__(
            box,
            [
                InitialValue("initial", box, lambda p: torch.sin(math.pi * p[:, :1])),
                Periodic("periodic", box, "x"),
            ],
            loss_weights=loss_weights,
            default_loss_weights={"initial": 10.0},
        )

    def residual(self, u):
        return u.d("t") + u.d("x")

    def exact(self, x):
        return torch.sin(math.pi * (x[:, :1] - x[:, 1:]))

    def output_transform(self, x, u):
        if not self._transform:
            return None
        return torch.sin(math.pi * x[:, :1]) + x[:, 1:] * u


class Plate(Problem):
    """lap u = 0 with two Dirichlet conditions on different faces (no exact solution)."""

    def __init__(self):
        box = Box(("x", "y"), (0.0, 0.0), (3.0, 1.0))
        super().__init__(
            box,
            [
                Dirichlet("hot", [box.face("x", "low")], 1.0),
                Dirichlet(
                    "cold",
                    [box.face("x", "high"), box.face("y", "low"), box.face("y", "high")],
                    0.0,
                ),
            ],
        )

    def residual(self, u):
        return u.laplacian()


def _net(dtype=torch.float64):
    with torch.random.fork_rng():  # nn.Linear draws from the global RNG: keep it untouched
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).to(dtype)


def test_terms_and_loss_weights():
    p = Advection()
    assert p.terms == ["residual", "initial", "periodic"]
    assert p.loss_weights == {"residual": 1.0, "initial": 10.0, "periodic": 1.0}
    assert Advection(loss_weights={"periodic": 0.5}).loss_weights["periodic"] == 0.5
    with pytest.raises(ValueError, match="unknown term 'boundary'.*allowed terms"):
        Advection(loss_weights={"boundary": 1.0})
    with pytest.raises(ValueError, match=r"loss_weights\['initial'\] must be finite and >= 0"):
        Advection(loss_weights={"initial": -1.0})
    assert p.dim_in == 2 and p.dim_out == 1 and p.names == ("x", "t")


def test_sample_points_counts_faces_and_reproducibility():
    p = Advection()
    pts = p.sample_points("sobol", 128, 40, seed=0)
    assert set(pts) == {"residual", "initial", "periodic"}
    assert all(v.dtype == torch.float64 and v.device.type == "cpu" for v in pts.values())
    assert pts["residual"].shape == (128, 2) and pts["initial"].shape == (40, 2)
    assert pts["periodic"].shape == (40, 2)
    assert torch.all(pts["initial"][:, 1] == 0) and torch.all(pts["periodic"][:, 0] == 0)
    assert p.sample_points("sobol", 128, 40, seed=0, n_initial=7)["initial"].shape == (7, 2)
    again = p.sample_points("sobol", 128, 40, seed=0)
    assert all(torch.equal(pts[k], again[k]) for k in pts)
    other = p.sample_points("sobol", 128, 40, seed=1)
    assert not torch.equal(pts["residual"], other["residual"])
    # the terms draw independent point sets
    assert not torch.equal(pts["initial"][:, 0], pts["periodic"][:, 1] * 2)


def test_boundary_points_are_split_by_face_measure_across_conditions():
    p = Plate()
    pts = p.sample_points("uniform", 10, 80, seed=3)
    # faces: x=0 (length 1) -> hot; x=3 (1), y=0 (3), y=1 (3) -> cold: 1 : 7 of 80
    assert pts["hot"].shape[0] == 10 and pts["cold"].shape[0] == 70
    assert torch.all(pts["hot"][:, 0] == 0)


def test_exact_solution_has_zero_residuals_and_consistent_gradient():
    p = Advection()
    pts = p.sample_points("halton", 200, 50, seed=0)
    res = p.pointwise(ExactSolution(p), pts)
    assert res["residual"].shape == (200, 1) and res["periodic"].shape == (50, 2)
    for r in res.values():
        assert float(r.detach().abs().max()) < 1e-13
    x = pts["residual"]
    g = p.exact_gradient(x)
    assert g.shape == (200, 2, 1)
    c = math.pi * torch.cos(math.pi * (x[:, :1] - x[:, 1:]))
    torch.testing.assert_close(g[:, :, 0], torch.cat([c, -c], dim=1))


def test_losses_are_mean_squares_and_model_is_called_once_per_set():
    p = Advection()
    net = _net()
    calls = []
    net.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    pts = p.sample_points("uniform", 64, 16, seed=0)
    res = p.pointwise(net, pts)
    assert calls == [64, 16, 32]  # periodic pairs are evaluated together
    losses = p.losses(net, pts)
    for k in res:
        torch.testing.assert_close(losses[k], (res[k] ** 2).mean())
    total = p.weighted_loss(losses)
    torch.testing.assert_close(
        total, losses["residual"] + 10 * losses["initial"] + losses["periodic"]
    )
    total.backward()
    assert all(q.grad is not None for q in net.parameters())


def test_pointwise_subset_dtype_and_bad_keys():
    p = Advection()
    pts = p.sample_points("uniform", 32, 8, seed=0)
    out = p.pointwise(_net(torch.float32), {"residual": pts["residual"]})
    assert list(out) == ["residual"] and out["residual"].dtype == torch.float32
    with pytest.raises(ValueError, match="unknown terms"):
        p.pointwise(_net(), {"boundary": pts["residual"]})
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        p.pointwise(_net(), {"residual": pts["residual"][:, :1]})


def test_test_set_grid_and_cache():
    p = Advection()
    axes = p.test_axes()
    assert [n for n, _ in axes] == ["x", "t"] and [len(a) for _, a in axes] == [101, 101]
    coords, u = p.test_set()
    assert coords.shape == (101 * 101, 2) and u.shape == (101 * 101, 1)
    grid = coords.reshape(101, 101, 2)
    np.testing.assert_array_equal(grid[:, 0, 0], axes[0][1])
    np.testing.assert_array_equal(grid[0, :, 1], axes[1][1])
    np.testing.assert_allclose(u[:, 0], np.sin(np.pi * (coords[:, 0] - coords[:, 1])), atol=1e-15)
    u[:] = 0.0  # callers get copies
    assert np.abs(p.test_set()[1]).max() > 0.99
    with pytest.raises(ValueError, match="override reference"):
        Plate().test_set()


def test_hard_constraint_wraps_models_that_satisfy_the_initial_condition():
    p = Advection(transform=True)
    assert p.has_output_transform and not Advection().has_output_transform
    hc = HardConstraint(_net(), p)
    pts = p.sample_points("uniform", 16, 16, seed=0)
    r = p.pointwise(hc, pts)["initial"]
    assert float(r.detach().abs().max()) < 1e-15
    assert list(hc.parameters())  # the wrapped model's parameters are trained
    with pytest.raises(ValueError, match="no output_transform"):
        HardConstraint(_net(), Advection())
    with pytest.raises(AttributeError):
        hc.extend_grid  # noqa: B018  (the wrapped Sequential has none)


def test_condition_on_another_box_is_rejected():
    other = Box(("x", "t"), (0.0, 0.0), (1.0, 1.0))

    class Bad(Advection):
        def __init__(self):
            box = Box(("x", "t"), (0.0, 0.0), (2.0, 1.0))
            Problem.__init__(self, box, [Periodic("periodic", other, "x")])

    with pytest.raises(ValueError, match="lives on"):
        Bad()


def test_exact_solution_module_requires_an_exact_solution():
    with pytest.raises(ValueError, match="no exact solution"):
        ExactSolution(Plate())


@pytest.mark.parametrize("value", ["soon", None, [1.0], float("nan"), -2.0])
def test_check_positive_names_the_key_for_any_bad_value(value):
    from kanpde.pde import check_positive

    with pytest.raises(ValueError, match=r"problem\.t_end must be finite and > 0"):
        check_positive("problem.t_end", value)
