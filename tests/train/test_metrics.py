"""Error metrics against hand-computed values."""

import numpy as np
import pytest
import torch

from kanpde.train.config import Phase
from kanpde.train.metrics import error_metrics, rel_l2
from kanpde.train.optim import scheduled_lr


def test_metrics_values():
    ref = np.array([[3.0], [4.0]])
    pred = np.array([[3.0], [5.0]])
    m = error_metrics(pred, ref)
    assert m["rel_l2"] == pytest.approx(1.0 / 5.0, rel=1e-15)
    assert m["mse"] == pytest.approx(0.5, rel=1e-15)
    assert m["max_abs"] == pytest.approx(1.0, rel=1e-15)
    assert "rel_h1" not in m


def test_one_rel_l2_everywhere_with_nan_for_a_zero_reference():
    """error_metrics, the symbolic formula error and the explain accuracy share rel_l2."""
    import sympy

    from kanpde.app.explain_runs import accuracy
    from kanpde.explain.formula import formula_error

    assert rel_l2(np.array([1.0, 0.0]), np.array([3.0, 4.0])) == pytest.approx(0.2, rel=1e-15)
    assert np.isnan(rel_l2(np.ones(2), np.zeros(2)))
    assert np.isnan(error_metrics(np.ones((2, 1)), np.zeros((2, 1)))["rel_l2"])
    x = np.array([[0.5], [1.0]])
    assert np.isnan(formula_error(sympy.Symbol("x", real=True), ["x"], x, np.zeros(2))["rel_l2"])
    one = torch.nn.Linear(1, 1).double()
    assert np.isnan(accuracy(one, x, np.zeros((2, 1)))["rel_l2"])
    err = formula_error(2 * sympy.Symbol("x", real=True), ["x"], x, x[:, 0])
    assert err["rel_l2"] == pytest.approx(1.0, rel=1e-15)


def test_rel_h1():
    ref = np.array([[1.0], [0.0]])
    pred = np.array([[1.0], [0.0]])
    gref = np.array([[[1.0]], [[1.0]]])
    gpred = np.array([[[1.0]], [[2.0]]])
    m = error_metrics(pred, ref, gpred, gref)
    assert m["rel_h1"] == pytest.approx(np.sqrt(1.0 / 3.0), rel=1e-15)


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        error_metrics(np.zeros((3, 1)), np.zeros((4, 1)))


def test_schedules():
    p = Phase(optimizer="adam", steps=100, lr=1.0, schedule="cosine", final_lr_factor=0.1)
    assert scheduled_lr(p, 5.0, 0) == pytest.approx(1.0)
    assert scheduled_lr(p, 5.0, 100) == pytest.approx(0.1)
    assert scheduled_lr(p, 5.0, 50) == pytest.approx(0.55)
    e = Phase(optimizer="adam", steps=10, schedule="exponential", final_lr_factor=0.01)
    assert scheduled_lr(e, 2.0, 5) == pytest.approx(2.0 * 0.1)
    assert scheduled_lr(Phase(optimizer="lbfgs"), 1e-3, 3) == 1.0


def test_evaluation_scores_only_the_problems_scored_outputs():
    """A mixed formulation's auxiliary output is predicted and stored but not scored: a model
    exact in column 0 and wrong in column 1 has rel_l2 0 when only column 0 is scored."""
    import torch

    from kanpde.train.evaluation import TestSet, evaluate

    coords = np.linspace(0, 1, 50)[:, None]
    u_ref = np.concatenate([np.sin(coords), np.cos(coords)], axis=1)
    test = TestSet(coords, u_ref, torch.from_numpy(coords), None)

    class Half(torch.nn.Module):
        def forward(self, x):
            return torch.cat([torch.sin(x), torch.cos(x) + 1], dim=1)

    class Scored:
        names = ("x",)
        scored_outputs = (0,)

    class All(Scored):
        scored_outputs = None

    metrics, pred = evaluate(Half(), Scored(), test, "autograd", 16)
    assert metrics["rel_l2"] == 0 and pred.shape == (50, 2)
    assert evaluate(Half(), All(), test, "autograd", 16)[0]["rel_l2"] > 0.5
