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


def test_an_exact_solution_computed_with_numpy_trains_without_h1(caplog):
    """An ``exact`` written with numpy (as a tabulated or quadrature reference is) cannot be
    differentiated by autograd: the run trains and reports rel_l2, says once that rel_h1 is
    not reported, and leaves rel_h1 out."""
    from kanpde.models import KAN, ScaledModel
    from kanpde.pde import make_sampler
    from kanpde.train import TrainConfig, Trainer

    class NumpyExact(_load().Poisson1D):
        def exact(self, x):
            return torch.as_tensor(np.sin(self.k * np.pi * x.numpy()), dtype=x.dtype)

    problem = NumpyExact(k=1)
    model = ScaledModel(KAN([1, 3, 1], grid_size=5, seed=0, dtype=torch.float64), [0.0], [1.0])
    cfg = TrainConfig.from_dict({"phases": [{"optimizer": "gauss_newton", "steps": 8}],
                                 "n_interior": 64, "n_boundary": 2, "eval_every": 4,
                                 "progress": False})
    with caplog.at_level("INFO", logger="kanpde"):
        assert problem.exact_gradient(torch.zeros(3, 1, dtype=torch.float64)) is None
        res = Trainer(problem, model, make_sampler("sobol"), cfg, seed=0).fit()
    assert res.status == "completed"
    assert res.final["rel_l2"] < 1e-3 and "rel_h1" not in res.final
    said = [r for r in caplog.records if "rel_h1 is not reported" in r.getMessage()]
    assert len(said) == 1 and "NumpyExact" in said[0].getMessage()  # once per class
    NumpyExact.exact = lambda self, x: torch.sin(self.k * np.pi * x)  # differentiable again
    assert problem.exact_gradient(torch.zeros(3, 1, dtype=torch.float64)) is not None
