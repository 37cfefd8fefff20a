"""Error metrics of a prediction against a reference on a test set.

    rel_l2  = ||u_pred - u_ref||_2 / ||u_ref||_2
    mse     = mean((u_pred - u_ref)^2)
    max_abs = max |u_pred - u_ref|
    rel_h1  = sqrt(||e||^2 + ||grad e||^2) / sqrt(||u_ref||^2 + ||grad u_ref||^2)

A relative error against a zero reference is undefined: NaN (here and wherever kanpde
reports a relative error; :func:`rel_l2` is the one implementation).
"""

from __future__ import annotations

import numpy as np


def rel_l2(err: np.ndarray, ref: np.ndarray) -> float:
    """``||err||_2 / ||ref||_2`` over all entries; NaN when ``ref`` is zero (module
    docstring). Sums of squares, not ``np.linalg.norm`` (see :func:`error_metrics`)."""
    ref_sq = float(np.sum(np.square(ref, dtype=np.float64)))
    err_sq = float(np.sum(np.square(err, dtype=np.float64)))
    return float(np.sqrt(err_sq / ref_sq)) if ref_sq > 0 else float("nan")


def error_metrics(
    u_pred: np.ndarray,
    u_ref: np.ndarray,
    grad_pred: np.ndarray | None = None,
    grad_ref: np.ndarray | None = None,
) -> dict[str, float]:
    """Metrics of ``u_pred`` against ``u_ref`` (both ``(n, dim_out)``).

    ``grad_pred``/``grad_ref`` (``(n, dim_in, dim_out)``) add ``rel_h1`` when both are given.
    """
    if u_pred.shape != u_ref.shape:
        raise ValueError(f"u_pred shape {u_pred.shape} does not match u_ref {u_ref.shape}")
    # sums of squares, not np.linalg.norm: that calls the threaded BLAS dot, whose worker
    # threads then spin for a while and took CPU time from the next training step (metrics
    # run every step; 2x slower steps measured on a 2-core machine)
    err = u_pred - u_ref
    err_sq, ref_sq = float(np.sum(err**2)), float(np.sum(u_ref**2))
    out = {
        "rel_l2": rel_l2(err, u_ref),
        "mse": err_sq / err.size,
        "max_abs": float(np.max(np.abs(err))),
    }
    if grad_pred is not None and grad_ref is not None:
        num = err_sq + np.sum((grad_pred - grad_ref) ** 2)
        den = ref_sq + np.sum(grad_ref**2)
        out["rel_h1"] = float(np.sqrt(num / den)) if den > 0 else float("nan")
    return out
