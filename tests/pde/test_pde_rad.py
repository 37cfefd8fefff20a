import numpy as np
import pytest
import torch

from kanpde.pde import rad_probabilities, rad_resample


def test_probabilities_follow_the_rad_formula():
    r = np.array([0.0, 1.0, 2.0, 3.0])
    p = rad_probabilities(r, k=2.0, c=0.5)
    w = r**2 / np.mean(r**2) + 0.5
    np.testing.assert_allclose(p, w / w.sum(), rtol=1e-14)
    np.testing.assert_allclose(rad_probabilities(r, k=0.0, c=1.0), 0.25)
    # vector residuals use the Euclidean norm
    rv = np.array([[3.0, 4.0], [0.0, 1.0]])
    np.testing.assert_allclose(rad_probabilities(rv, k=1.0, c=0.0), [5 / 6, 1 / 6])
    # torch input, all-zero residual: uniform
    np.testing.assert_allclose(rad_probabilities(torch.zeros(5), k=1, c=0), 0.2)


def test_rad_concentrates_points_where_the_residual_is_large():
    rng = np.random.default_rng(0)
    cand = rng.random((20000, 2))
    centre = np.array([0.7, 0.3])
    near = np.linalg.norm(cand - centre, axis=1) < 0.1
    residual = np.exp(-np.sum((cand - centre) ** 2, axis=1) / 0.002) + 1e-3
    # about 630 candidates lie within 0.1 of the centre; draw fewer than that
    pts = rad_resample(cand, residual, 300, k=2.0, c=0.0, seed=1)
    frac = np.mean(np.linalg.norm(pts - centre, axis=1) < 0.1)
    assert frac > 0.9 > 10 * near.mean()
    # every drawn point is one of the candidates, no repeats without replacement
    assert len(np.unique(pts, axis=0)) == 300
    # the uniform floor c spreads the points out again
    pts_c = rad_resample(cand, residual, 300, k=2.0, c=10.0, seed=1)
    frac_c = np.mean(np.linalg.norm(pts_c - centre, axis=1) < 0.1)
    assert near.mean() < frac_c < frac


def test_rad_is_reproducible():
    rng = np.random.default_rng(0)
    cand, res = rng.random((500, 3)), rng.random(500)
    a = rad_resample(cand, res, 100, seed=7)
    np.testing.assert_array_equal(a, rad_resample(cand, res, 100, seed=7))
    assert not np.array_equal(a, rad_resample(cand, res, 100, seed=8))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": -1.0}, "exponent k"),
        ({"c": -0.5}, "constant c"),
        ({"n": 11}, "cannot draw"),
    ],
)
def test_rad_rejects_bad_settings(kwargs, match):
    cand, res = np.zeros((10, 2)), np.ones(10)
    args = {"n": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        rad_resample(cand, res, **args)


def test_rad_rejects_non_finite_residuals():
    with pytest.raises(ValueError, match="non-finite"):
        rad_resample(np.zeros((3, 1)), np.array([1.0, np.nan, 2.0]), 1)
