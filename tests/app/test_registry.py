"""Problems by name through the ``kanpde.problems`` entry-point group."""

from __future__ import annotations

import pytest
from kanpde.problems import PROBLEMS

from kanpde.app import build
from kanpde.pde.registry import problem_class, registered_problems


def test_the_benchmark_problems_are_registered_under_their_names():
    assert set(registered_problems()) >= set(PROBLEMS)
    for name, cls in PROBLEMS.items():
        assert problem_class(name) is cls


def test_an_unknown_name_lists_the_registered_ones():
    with pytest.raises(ValueError, match=r"no problem registered as 'wave'.*allen_cahn.*poisson"):
        problem_class("wave")


def test_a_target_without_a_dot_is_looked_up_in_the_registry(compose_cfg):
    cfg = compose_cfg(["problem=custom", "problem._target_=heat", "train=smoke",
                       "model.widths=[2,3,1]"])
    problem = build(cfg).problem
    assert type(problem) is PROBLEMS["heat"]
