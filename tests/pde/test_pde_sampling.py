import numpy as np
import pytest
from scipy.stats import qmc

from kanpde.pde import SAMPLERS, Box, make_sampler, sample_face, sample_faces, split_count
from kanpde.pde.sampling import grid_counts

BOX = Box(("x", "y", "t"), (-1.0, 0.0, 0.0), (1.0, 0.5, 2.0))


@pytest.mark.parametrize("name", SAMPLERS)
def test_points_lie_in_the_box_and_are_reproducible(name):
    s = make_sampler(name)
    a = s.sample(BOX, 500, seed=3)
    b = s.sample(BOX, 500, seed=3)
    assert a.dtype == np.float64 and a.ndim == 2 and a.shape[1] == 3
    assert BOX.contains(a, tol=0).all()
    np.testing.assert_array_equal(a, b)
    if name == "grid":
        assert abs(len(a) - 500) <= 0.1 * 500
    else:
        assert a.shape == (500, 3)
        c = s.sample(BOX, 500, seed=4)
        assert not np.allclose(a, c)


@pytest.mark.parametrize("name", ["uniform", "lhs", "sobol", "halton"])
def test_points_fill_the_box(name):
    # every coordinate covers its interval (a scaling bug would leave part of it empty)
    a = make_sampler(name).sample(BOX, 2000, seed=0)
    for i in range(3):
        frac = (a[:, i] - BOX.lo[i]) / BOX.extent[i]
        assert frac.min() < 0.01 and frac.max() > 0.99
        assert abs(frac.mean() - 0.5) < 0.03


def test_lhs_stratifies_each_axis():
    a = make_sampler("lhs").sample(Box(("x", "y"), (0, 0), (1, 1)), 64, seed=1)
    for i in range(2):
        assert sorted(np.floor(a[:, i] * 64).astype(int).tolist()) == list(range(64))


def test_sobol_has_lower_discrepancy_than_uniform():
    unit = Box(("x", "y"), (0, 0), (1, 1))
    d_sobol = [qmc.discrepancy(make_sampler("sobol").sample(unit, 256, s)) for s in range(5)]
    d_unif = [qmc.discrepancy(make_sampler("uniform").sample(unit, 256, s)) for s in range(5)]
    assert max(d_sobol) < min(d_unif)
    assert np.mean(d_sobol) < 0.2 * np.mean(d_unif)


def test_grid_is_regular_cell_centred():
    box = Box(("x", "y"), (0.0, 0.0), (2.0, 1.0))
    pts = make_sampler("grid").sample(box, 200)
    assert grid_counts(box.extent, 200) == [20, 10]
    xs, ys = np.unique(pts[:, 0]), np.unique(pts[:, 1])
    np.testing.assert_allclose(xs, (np.arange(20) + 0.5) * 0.1)
    np.testing.assert_allclose(ys, (np.arange(10) + 0.5) * 0.1)
    assert len(pts) == 200


def test_split_count_is_proportional_and_exact():
    assert split_count(60, [1, 1, 2, 2]) == [10, 10, 20, 20]
    parts = split_count(7, [1, 1, 1])
    assert sum(parts) == 7 and max(parts) - min(parts) <= 1
    assert split_count(0, [1, 2]) == [0, 0]
    with pytest.raises(ValueError, match="weights"):
        split_count(3, [0, 0])


@pytest.mark.parametrize("name", SAMPLERS)
def test_face_points_lie_on_their_faces(name):
    box = Box(("x", "y"), (0.0, 0.0), (2.0, 1.0))
    for face in box.faces() + [box.face("y", "low")]:
        pts = sample_face(name, face, 40, seed=0)
        assert face.contains(pts, tol=0).all()


def test_faces_share_points_by_measure():
    box = Box(("x", "y"), (0.0, 0.0), (2.0, 1.0))
    pts = sample_faces("uniform", box.faces(), 60, seed=0)
    counts = [int(f.contains(pts, tol=0).sum()) for f in box.faces()]
    # faces x=0, x=2 have length 1; y=0, y=1 have length 2
    assert counts == [10, 10, 20, 20]
    np.testing.assert_array_equal(pts, sample_faces("uniform", box.faces(), 60, seed=0))


def test_unknown_sampler_names_the_allowed_values():
    with pytest.raises(ValueError, match="allowed values: uniform, lhs, sobol, halton, grid"):
        make_sampler("random")


def test_negative_point_count_is_rejected():
    with pytest.raises(ValueError, match="non-negative integer"):
        make_sampler("uniform").sample(BOX, -1)


@pytest.mark.parametrize("name", SAMPLERS)
def test_point_faces_of_a_1d_box(name):
    box = Box("x", [0.0], [2.0])
    pts = sample_faces(name, box.faces(), 10, seed=0)
    assert pts.shape == (10, 1)
    assert sorted(pts[:, 0].tolist()) == [0.0] * 5 + [2.0] * 5
