"""Held-out observations (``train.validation``): the seeded split of the data terms and the
misfit the trainer records."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from kanpde.problems.heat import Heat

from kanpde.pde.observations import Observations
from kanpde.train.loop.validation import HeldOut


def _heat_with_data(n=40):
    p = Heat()
    g = np.random.default_rng(0)
    x = g.random((n, 2))
    p.add_observations(Observations(x, g.random((n, 1)), (0,), source="test"))
    return p


def test_the_split_holds_out_a_seeded_share_of_every_row_once():
    p = _heat_with_data()
    rows = p.conditions[-1].observations.rows()
    held = p.hold_out(0.25, seed=3)["data"]
    kept = p.conditions[-1].observations
    assert held.n == 10 and kept.n == 30
    both = np.concatenate([held.rows(), kept.rows()])
    assert sorted(map(tuple, both)) == sorted(map(tuple, rows))  # a partition of the rows
    assert p.hold_out(0.5, seed=9)["data"] is held  # split once
    q = _heat_with_data()
    np.testing.assert_array_equal(q.hold_out(0.25, seed=3)["data"].x, held.x)  # seeded


def test_the_split_is_refused_without_enough_data():
    with pytest.raises(ValueError, match="no observations"):
        Heat().hold_out(0.1, 0)
    with pytest.raises(ValueError, match="at least 2"):
        _heat_with_data(1).hold_out(0.5, 0)


def test_the_misfit_is_the_mean_square_over_held_out_values():
    p = _heat_with_data()
    h = HeldOut(p, 0.5, 0, torch.device("cpu"), torch.float64)
    held = p.hold_out(0.5, 0)["data"]

    def model(x):
        return torch.full((x.shape[0], 1), 0.25, dtype=torch.float64)

    assert h.misfit(model) == pytest.approx(float(np.mean((held.u - 0.25) ** 2)), rel=1e-14)
