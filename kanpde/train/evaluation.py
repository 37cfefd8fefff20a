"""Evaluation of a model on its problem's test set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from kanpde.pde import make_derivatives
from kanpde.train.metrics import error_metrics


@dataclass
class TestSet:
    """The problem's test coordinates ``(n, dim_in)`` and reference values ``(n, dim_out)``,
    moved once to the run's device and dtype; ``grad_ref`` ``(n, dim_in, dim_out)`` when the
    problem knows its exact gradient."""

    coords: np.ndarray
    u_ref: np.ndarray
    x: torch.Tensor
    grad_ref: np.ndarray | None

    @classmethod
    def from_problem(cls, problem, device: torch.device, dtype: torch.dtype) -> TestSet:
        coords, u_ref = problem.test_set()
        coords = np.asarray(coords, dtype=np.float64)
        u_ref = np.asarray(u_ref, dtype=np.float64)
        x = torch.as_tensor(coords).to(device, dtype)
        grad = problem.exact_gradient(torch.as_tensor(coords))
        grad_ref = None if grad is None else grad.detach().cpu().numpy().astype(np.float64)
        return cls(coords, u_ref, x, grad_ref)


def predict(model: torch.nn.Module, x: torch.Tensor, batch: int) -> np.ndarray:
    """Model values at ``x`` ``(n, dim_in)`` in batches, as float64 numpy ``(n, dim_out)``."""
    out = []
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            out.append(model(x[start : start + batch]).double().cpu().numpy())
    return np.concatenate(out)


def predict_gradient(
    model: torch.nn.Module, x: torch.Tensor, names: list[str], engine: str, batch: int
) -> np.ndarray:
    """Input gradient ``(n, dim_in, dim_out)`` in batches through the derivative accessor."""

    out = []
    for start in range(0, x.shape[0], batch):
        xb = x[start : start + batch].detach().clone().requires_grad_(True)
        with torch.enable_grad():
            u = make_derivatives(model, xb, names, engine=engine, order=1)  # gradient only
            out.append(u.grad().detach().double().cpu().numpy())
    return np.concatenate(out)


def evaluate(
    model: torch.nn.Module,
    problem,
    test: TestSet,
    engine: str,
    batch: int,
) -> tuple[dict[str, float], np.ndarray]:
    """Metrics (rel_l2, mse, max_abs and rel_h1 where the exact gradient is known) of the
    problem's ``scored_outputs`` (all outputs by default) and the prediction ``(n, dim_out)``
    on the test set. Non-finite predictions give NaN metrics."""
    was_training = model.training
    model.eval()
    try:
        u_pred = predict(model, test.x, batch)
        grad_pred = None
        if test.grad_ref is not None and np.all(np.isfinite(u_pred)):
            grad_pred = predict_gradient(model, test.x, list(problem.names), engine, batch)
    finally:
        model.train(was_training)
    if not np.all(np.isfinite(u_pred)):
        nan = float("nan")
        metrics = {"rel_l2": nan, "mse": nan, "max_abs": nan}
        if test.grad_ref is not None:
            metrics["rel_h1"] = nan
        return metrics, u_pred
    cols = getattr(problem, "scored_outputs", None)
    if cols is None:
        return error_metrics(u_pred, test.u_ref, grad_pred, test.grad_ref), u_pred
    cols = list(cols)
    grads = [None if g is None else g[:, :, cols] for g in (grad_pred, test.grad_ref)]
    return error_metrics(u_pred[:, cols], test.u_ref[:, cols], *grads), u_pred
