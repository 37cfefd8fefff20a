"""examples/custom_problem.py: a complete user-defined problem in under 30 lines."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from kanpde.pde import ExactSolution, Problem

PATH = Path(__file__).resolve().parents[2] / "examples" / "custom_problem.py"


def _load():
    spec = importlib.util.spec_from_file_location("custom_problem", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_is_short():
    assert len(PATH.read_text().splitlines()) < 30


def test_exact_solution_satisfies_the_custom_problem(jet_net_factory):
    p = _load().Poisson1D(k=3)
    assert isinstance(p, Problem) and p.terms == ["residual", "boundary"]
    pts = p.sample_points("sobol", 500, 20, seed=0)
    res = p.pointwise(ExactSolution(p), pts, engine="autograd")
    for r in res.values():
        assert float(r.detach().abs().max()) < 1e-8
    # a different frequency is not a solution
    wrong = p.pointwise(ExactSolution(_load().Poisson1D(k=2)), pts, engine="autograd")
    assert float(wrong["residual"].detach().abs().max()) > 1.0
    coords, u = p.test_set()
    np.testing.assert_allclose(u[:, 0], np.sin(3 * np.pi * coords[:, 0]), atol=1e-15)
    # derivative engines agree on the custom residual too
    net = jet_net_factory([1, 8, 1], seed=0)
    a = p.pointwise(net, pts, engine="autograd")["residual"]
    j = p.pointwise(net, pts, engine="jets")["residual"]
    torch.testing.assert_close(a, j, rtol=0, atol=1e-10)


def test_custom_problem_validates_its_setting():
    with pytest.raises(ValueError, match="k must be a positive integer"):
        _load().Poisson1D(k=0.5)
