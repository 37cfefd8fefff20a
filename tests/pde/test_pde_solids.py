"""n-D solids, space-time domains and the surfaces conditions live on, against exact
measures, exact normals and known moments of uniform distributions (float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kanpde.pde import (
    Ball,
    Boundary,
    Box,
    Cuboid,
    Dirichlet,
    InitialRate,
    InitialValue,
    Neumann,
    Robin,
    SpaceTime,
    make_derivatives,
)

F64 = torch.float64


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_ball_measures_and_uniform_points(d):
    """Volume and surface area of the n-ball; interior points uniform (E|x|^2 = d/(d+2) r^2),
    boundary points on the sphere with normals (x - c)/r and E x_i^2 = r^2 / d."""
    c, r = np.linspace(0.1, 0.5, d), 0.7
    ball = Ball(c, r)
    assert ball.volume == pytest.approx(math.pi ** (d / 2) * r**d / math.gamma(d / 2 + 1))
    area = 2 * math.pi ** (d / 2) * r ** (d - 1) / math.gamma(d / 2)
    assert ball.boundary_measure == pytest.approx(area)
    x = ball.sample_interior(40_000, seed=0, sampler="sobol")
    assert ball.contains(x).all()
    assert np.mean(((x - c) ** 2).sum(axis=1)) == pytest.approx(d / (d + 2) * r**2, rel=1e-2)
    b, n = ball.sample_boundary(20_000, seed=1, sampler="uniform", return_normals=True)
    np.testing.assert_allclose(np.linalg.norm(b - c, axis=1), r, rtol=1e-12)
    np.testing.assert_allclose(n, (b - c) / r, atol=1e-12)
    np.testing.assert_allclose(ball.outward_normals(b), n, atol=1e-12)
    np.testing.assert_allclose(np.mean((b - c) ** 2, axis=0), r**2 / d, rtol=0.05)


@pytest.mark.parametrize("d", [2, 3])
def test_box_minus_balls(d):
    """The unit box minus two interior balls: volume, boundary measure (faces plus spheres),
    every boundary point on a face or a sphere, normals into the holes on the spheres."""
    balls = [Ball([0.3] * d, 0.15), Ball([0.7] * d, 0.1)]
    solid = Cuboid([0.0] * d, [1.0] * d) - balls[0] - balls[1]
    assert solid.bounds == Box(solid.names, [0.0] * d, [1.0] * d)
    assert solid.volume == pytest.approx(1 - sum(b.volume for b in balls), rel=5e-3)
    faces = 2 * d
    assert solid.boundary_measure == pytest.approx(
        faces + sum(b.boundary_measure for b in balls), rel=1e-12)
    x = solid.sample_interior(5000, seed=0, sampler="halton")
    assert solid.contains(x).all() and not any(b.contains(x, -1e-12).any() for b in balls)
    pts, normals = solid.sample_boundary(6000, seed=2, sampler="sobol", return_normals=True)
    on_face = np.any(np.isclose(pts, 0.0) | np.isclose(pts, 1.0), axis=1)
    for b in balls:
        on = np.isclose(np.linalg.norm(pts - b.center, axis=1), b.radius)
        np.testing.assert_allclose(normals[on], -(pts[on] - b.center) / b.radius, atol=1e-12)
        on_face |= on
        # the share of points on each sphere is its share of the boundary measure
        assert on.mean() == pytest.approx(b.boundary_measure / solid.boundary_measure, abs=0.02)
    assert on_face.all()
    np.testing.assert_allclose(solid.outward_normals(pts), normals, atol=1e-12)


def test_boundary_parts_within_and_without():
    """``Boundary(domain, within=holes)`` is the holes' edges, ``without=holes`` the square."""
    holes = Ball((0.25, 0.25), 0.1) | Ball((0.75, 0.7), 0.2)
    plate = Cuboid((0, 0), (1, 1)) - holes
    inner, outer = Boundary(plate, within=holes), Boundary(plate, without=holes)
    assert inner.measure == pytest.approx(2 * math.pi * 0.3, rel=5e-3)
    assert outer.measure == pytest.approx(4.0, rel=5e-3)
    x = inner.sample("sobol", 500, seed=0)
    assert len(x) == 500 and holes.contains(x, 1e-9).all()
    y = outer.sample("uniform", 400, seed=0)
    assert np.all(np.any(np.isclose(y, 0) | np.isclose(y, 1), axis=1))
    with pytest.raises(ValueError, match="coordinates"):
        Boundary(plate, within=Ball((0, 0, 0), 1.0))
    with pytest.raises(ValueError, match="is empty"):
        _ = Boundary(plate, within=Ball((5.0, 5.0), 0.1)).measure


def test_set_operations_refuse_time_boxes_and_mismatched_names():
    with pytest.raises(TypeError, match="set operations combine"):
        _ = Ball((0, 0), 1.0) - Box(("x", "t"), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="different coordinates"):
        _ = Ball((0, 0), 1.0) - Ball((0, 0), 1.0, names=("u", "v"))
    with pytest.raises(ValueError, match="radius"):
        Ball((0, 0), -1.0)
    with pytest.raises(ValueError, match="time coordinate"):
        Ball((0, 0), 1.0, names=("x", "t"))


def test_spacetime_parts():
    """Interior in the space and the interval, lateral normals with a zero time part, the
    initial slice at t_start over the space's interior."""
    space = Cuboid((-1, -1), (1, 1)) - Ball((0, 0), 0.5)
    st = SpaceTime(space, t_end=2.0, t_start=0.5)
    assert st.names == ("x", "y", "t") and st.bounds == Box(st.names, (-1, -1, .5), (1, 1, 2))
    assert st.volume == pytest.approx(space.volume * 1.5)
    x = st.sample_interior(3000, seed=0, sampler="sobol")
    assert st.contains(x).all() and space.contains(x[:, :2]).all()
    b, n = st.sample_boundary(1000, seed=0, return_normals=True)
    assert np.all(n[:, 2] == 0) and np.all((b[:, 2] >= 0.5) & (b[:, 2] <= 2.0))
    assert st.boundary_measure == pytest.approx(space.boundary_measure * 1.5)
    init = InitialValue("initial", st, 0.0)
    p = init.sample("uniform", 300, seed=0)
    assert np.all(p[:, 2] == 0.5) and space.contains(p[:, :2]).all()
    assert init.measure == pytest.approx(space.volume)
    with pytest.raises(ValueError, match="t_start < t_end"):
        SpaceTime(space, t_end=0.0)
    with pytest.raises(ValueError, match="Box with a coordinate 't'"):
        SpaceTime(Box(("x",), (0,), (1,)), 1.0)


def _accessor(fn, x, names, order=2):
    model = _Fn(fn)
    return make_derivatives(model, torch.as_tensor(x, dtype=F64), names, engine="autograd",
                            order=order)


class _Fn(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=F64))

    def forward(self, x):
        return self.fn(x) + 0 * self.dummy


@pytest.mark.parametrize("d", [2, 3, 5])
def test_neumann_and_robin_on_a_ball_and_its_hole(d):
    """``u = |x|^2`` on the unit ball: ``du/dn = 2`` (so ``du/dn + 3 u = 5``) on the sphere;
    on the sphere of radius 1/2 bounding a hole ``du/dn = -1`` (normal into the hole)."""
    ball = Ball([0.0] * d, 1.0)
    def u(x):
        return (x**2).sum(dim=1, keepdim=True)
    for cond in (Neumann("n", ball, 2.0), Robin("r", ball, 3.0, 5.0)):
        x = cond.sample("sobol", 64, seed=0)
        r = cond.residual(_accessor(u, x, ball.names, order=1))
        assert float(r.abs().max()) < 1e-12
    shell = ball - Ball([0.0] * d, 0.5)
    hole = Neumann("hole", Boundary(shell, within=Ball([0.0] * d, 0.6)), -1.0)
    x = hole.sample("uniform", 64, seed=0)
    assert float(hole.residual(_accessor(u, x, ball.names, order=1)).abs().max()) < 1e-12
    with pytest.raises(ValueError, match="alpha must be finite"):
        Robin("r", ball, float("nan"))


def test_initial_rate_and_conditions_on_spacetime():
    """``u = sin(x) t + cos(x)``: ``u(x, 0) = cos x``, ``u_t(x, 0) = sin x``."""
    box = Box(("x", "t"), (0, 0), (1, 1))
    def u(x):
        return torch.sin(x[:, :1]) * x[:, 1:] + torch.cos(x[:, :1])
    rate = InitialRate("rate", box, lambda p: torch.sin(p[:, :1]))
    value = InitialValue("value", box, lambda p: torch.cos(p[:, :1]))
    x = rate.sample("uniform", 50, seed=0)
    assert np.all(x[:, 1] == 0) and rate.kind == "initial" and rate.order == 1
    acc = _accessor(u, x, box.names, order=1)
    assert float(rate.residual(acc).abs().max()) < 1e-14
    assert float(value.residual(acc).abs().max()) < 1e-14
    with pytest.raises(ValueError, match="no time coordinate"):
        InitialRate("rate", Box(("x",), (0,), (1,)), 0.0)
    with pytest.raises(ValueError, match="space-time Box or a SpaceTime"):
        InitialValue("v", Ball((0, 0), 1.0), 0.0)
    st = SpaceTime(Ball((0.0, 0.0), 1.0), 1.0)
    assert Dirichlet("wall", st, 0.0).measure == pytest.approx(2 * math.pi)


def test_observations_are_checked_against_any_domain():
    """Data points inside a plate with a hole pass; one inside the hole is refused by name."""
    from kanpde.pde import Observations
    from kanpde.pde.observations import check_inside

    plate = Cuboid((0, 0), (1, 1)) - Ball((0.5, 0.5), 0.2)
    edge = 0.5 + 0.2 * np.array([[1.0, 0.0]])  # on the hole's circle: inside the closed set
    good = Observations(np.vstack([[[0.1, 0.1]], edge]), np.zeros((2, 1)), (0,), "obs")
    check_inside(good, plate.bounds, plate)
    bad = Observations(np.array([[0.1, 0.1], [0.5, 0.5]]), np.zeros((2, 1)), (0,), "obs")
    with pytest.raises(ValueError, match="1 of 2 data points lie outside"):
        check_inside(bad, plate.bounds, plate)
