"""Planar shapes (kanpde.pde.geometry): points inside, points on the boundary with their
outward normals, and uniform densities (area inside, arc length on the boundary), for a
disk, the L-shape, an annulus (difference), two overlapping disks (union) and a lens
(intersection)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from kanpde.pde.geometry import Disk, Polygon

L_SHAPE = [(-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1)]


def shapes():
    return {
        "disk": Disk((0.5, -0.25), 0.75),
        "l_shape": Polygon(L_SHAPE),
        "l_shape_clockwise": Polygon(L_SHAPE[::-1]),
        "annulus": Disk((0, 0), 1.0) - Disk((0, 0), 0.5),
        "two_disks": Disk((-0.5, 0), 1.0) | Disk((0.5, 0), 1.0),
        "lens": Disk((-0.5, 0), 1.0) & Disk((0.5, 0), 1.0),
        "l_shape_with_hole": Polygon(L_SHAPE) - Disk((-0.5, -0.5), 0.25),
    }


def exact_area(name: str) -> float:
    lens = 2 * math.acos(0.5) - 0.5 * math.sqrt(3)  # two unit disks, centers 1 apart
    return {"disk": math.pi * 0.75**2, "l_shape": 3.0, "l_shape_clockwise": 3.0,
            "annulus": math.pi * 0.75, "two_disks": 2 * math.pi - lens, "lens": lens,
            "l_shape_with_hole": 3.0 - math.pi / 16}[name]


def exact_perimeter(name: str) -> float:
    arc = 2 * math.pi / 3  # each disk's arc inside the other (centers 1 apart, radius 1)
    return {"disk": 2 * math.pi * 0.75, "l_shape": 8.0, "l_shape_clockwise": 8.0,
            "annulus": 3 * math.pi, "two_disks": 2 * (2 * math.pi - arc), "lens": 2 * arc,
            "l_shape_with_hole": 8.0 + 2 * math.pi * 0.25}[name]


def on_exact_boundary(name: str, x: np.ndarray) -> np.ndarray:
    """Distance of each point to the exact boundary of the named shape."""
    def circle(c, r):
        return np.abs(np.hypot(x[:, 0] - c[0], x[:, 1] - c[1]) - r)

    if name == "disk":
        return circle((0.5, -0.25), 0.75)
    if name.startswith("l_shape"):
        d = Polygon(L_SHAPE).distance_to_boundary(x)
        return np.minimum(d, circle((-0.5, -0.5), 0.25)) if name.endswith("hole") else d
    if name == "annulus":
        return np.minimum(circle((0, 0), 1.0), circle((0, 0), 0.5))
    return np.minimum(circle((-0.5, 0), 1.0), circle((0.5, 0), 1.0))


@pytest.mark.parametrize("name", list(shapes()))
def test_interior_points_are_inside_and_cover_the_area(name):
    shape = shapes()[name]
    x = shape.sample_interior(4000, seed=1)
    assert x.shape == (4000, 2) and np.all(shape.contains(x))
    box = shape.bounds
    assert np.all(x >= np.asarray(box.lo)) and np.all(x <= np.asarray(box.hi))
    # the fraction of bounding-box samples that land inside estimates the area
    assert shape.measure_estimate == pytest.approx(exact_area(name), rel=2e-3)


@pytest.mark.parametrize("name", list(shapes()))
def test_boundary_points_lie_on_the_boundary_with_outward_normals(name):
    shape = shapes()[name]
    x, normal = shape.sample_boundary(3000, seed=2, return_normals=True)
    assert x.shape == normal.shape == (3000, 2)
    assert np.max(on_exact_boundary(name, x)) < 1e-12
    assert np.allclose(np.linalg.norm(normal, axis=1), 1.0, atol=1e-12)
    assert np.all(shape.on_boundary(x, tol=1e-9))
    h = 1e-6  # a step along the outward normal leaves the shape, against it enters
    assert np.all(~shape.contains(x + h * normal, tol=0.0))
    assert np.all(shape.contains(x - h * normal, tol=0.0))
    assert sum(p.length for p in shape.boundary()) >= exact_perimeter(name) - 1e-12
    assert shape.perimeter == pytest.approx(exact_perimeter(name), rel=1e-3)
    assert np.allclose(shape.outward_normals(x), normal, atol=1e-9)


def test_interior_density_is_uniform_over_the_l_shape():
    """Counts in the three unit squares of the L-shape and in a 4 x 4 grid of cells are
    those of a uniform density (chi-square, p > 1e-3)."""
    x = Polygon(L_SHAPE).sample_interior(30000, seed=3)
    squares = [np.sum((x[:, 0] < 0) & (x[:, 1] < 0)), np.sum((x[:, 0] >= 0) & (x[:, 1] < 0)),
               np.sum((x[:, 0] < 0) & (x[:, 1] >= 0))]
    assert stats.chisquare(squares).pvalue > 1e-3
    cells = np.floor((x + 1) * 2).astype(int).clip(0, 3)  # 16 cells of side 1/2, 12 inside
    counts = np.bincount(cells[:, 0] * 4 + cells[:, 1], minlength=16)
    inside = [c for c in counts if c > 0]
    assert len(inside) == 12 and stats.chisquare(inside).pvalue > 1e-3


def test_boundary_density_is_uniform_in_arc_length():
    """Boundary points per edge of the L-shape are proportional to the edge lengths, and on
    the annulus 2:1 between the outer and the inner circle, uniform in angle on each."""
    shape = Polygon(L_SHAPE)
    x = shape.sample_boundary(16000, seed=4)
    edges = shape.boundary()
    nearest = np.argmin(np.stack([e.distance(x) for e in edges]), axis=0)
    counts = np.bincount(nearest, minlength=len(edges))
    lengths = np.array([e.length for e in edges])
    expected = len(x) * lengths / lengths.sum()
    assert stats.chisquare(counts, expected).pvalue > 1e-3

    annulus = Disk((0, 0), 1.0) - Disk((0, 0), 0.5)
    y = annulus.sample_boundary(12000, seed=5)
    outer = np.hypot(y[:, 0], y[:, 1]) > 0.75
    assert stats.chisquare([outer.sum(), (~outer).sum()], [8000, 4000]).pvalue > 1e-3
    angle = np.arctan2(y[outer, 1], y[outer, 0])
    assert stats.kstest((angle + math.pi) / (2 * math.pi), "uniform").pvalue > 1e-3


def test_union_boundary_leaves_out_the_arcs_inside_the_other_disk():
    shape = Disk((-0.5, 0), 1.0) | Disk((0.5, 0), 1.0)
    x = shape.sample_boundary(4000, seed=6)
    in_left = np.hypot(x[:, 0] + 0.5, x[:, 1]) < 1 - 1e-9
    in_right = np.hypot(x[:, 0] - 0.5, x[:, 1]) < 1 - 1e-9
    assert not np.any(in_left | in_right)


def test_seeds_reproduce_and_differ():
    shape = Polygon(L_SHAPE) - Disk((-0.5, -0.5), 0.25)
    a = shape.sample_interior(500, seed=7)
    assert np.array_equal(a, shape.sample_interior(500, seed=7))
    assert not np.array_equal(a, shape.sample_interior(500, seed=8))
    b = shape.sample_boundary(500, seed=7, sampler="sobol")
    assert np.array_equal(b, shape.sample_boundary(500, seed=7, sampler="sobol"))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Disk((0, 0), 0.0), "radius"),
        (lambda: Disk((0, 0), float("nan")), "radius"),
        (lambda: Disk((0, 0, 0), 1.0), "center"),
        (lambda: Polygon([(0, 0), (1, 0)]), "at least 3 vertices"),
        (lambda: Polygon([(0, 0), (1, 1), (2, 2)]), "zero area"),
        (lambda: Polygon([(0, 0), (1, 0), (float("inf"), 1)]), "finite"),
        (lambda: Disk(names=("x", "x")), "two distinct"),
        (lambda: Disk(names=("x", "y")) | Disk(names=("x", "t")), "different coordinates"),
        (lambda: (Disk((0, 0), 1) & Disk((5, 0), 1)).bounds, "empty"),
        (lambda: Disk().sample_interior(0), "integer >= 1"),
        (lambda: Disk().contains(np.zeros((3, 3))), r"\(N, 2\)"),
    ],
)
def test_bad_shapes_and_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("sampler", ["sobol", "uniform", "halton"])
def test_every_domain_answers_the_one_protocol(sampler):
    """A box and a shape behind :class:`Domain`: the box is its own bounds and draws its
    interior with the sampler directly; the shape's interior lies in it and its bounds."""
    from kanpde.pde import Box, Domain, make_sampler

    box = Box(("x", "y"), (-1, 0), (2, 1))
    disk = Disk((0.5, 0.5), 0.4)
    smp = make_sampler(sampler)
    for dom in (box, disk):
        assert isinstance(dom, Domain) and dom.dim == 2
        pts = dom.sample_interior(500, 3, smp)
        assert pts.shape == (500, 2)
        assert dom.contains(pts).all() and dom.bounds.contains(pts).all()
    assert box.bounds is box and box.fills_bounds and not disk.fills_bounds
    np.testing.assert_array_equal(box.sample_interior(64, 5, smp), smp.sample(box, 64, 5))


def test_problems_and_conditions_take_any_domain():
    """``Problem(domain)``: ``geometry`` is the domain, ``domain`` its bounds; a condition on
    a whole box is a condition on its spatial faces; a non-domain is refused by name."""
    from kanpde.pde import Box, Dirichlet, Domain, Problem

    class OnDomain(Problem):
        def residual(self, u):
            return u.laplacian()

    box = Box(("x", "t"), (0, 0), (1, 1))
    whole = Dirichlet("boundary", box, 0.0)
    assert whole.faces == tuple(box.faces())
    p = OnDomain(box, [whole])
    assert p.geometry is box and p.domain is box and p.shape is None
    disk = Disk((0.0, 0.0), 1.0)
    q = OnDomain(disk, [Dirichlet("boundary", disk, 0.0)])
    assert q.geometry is disk and q.shape is disk and q.domain == disk.bounds
    pts = q.sample_points("sobol", 200, 50, seed=0)
    assert disk.contains(pts["residual"].numpy()).all()
    with pytest.raises(ValueError, match="kanpde.pde.Domain"):
        OnDomain([(0, 1)], [])

    class Blob(Domain):  # a domain of the user's own, without a boundary sampler
        names = ("x", "y", "z")
        bounds = Box(("x", "y", "z"), (-1, -1, -1), (1, 1, 1))
        fills_bounds = False

        def contains(self, x, tol=1e-12):
            return (np.asarray(x) ** 2).sum(axis=1) <= 1 + tol

        def sample_interior(self, n, seed, sampler):
            return np.zeros((n, 3))

    with pytest.raises(ValueError, match="boundary of <.*Blob.*> cannot be sampled"):
        Dirichlet("boundary", Blob(), 0.0)
