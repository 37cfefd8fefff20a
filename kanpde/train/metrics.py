"""Error metrics of a prediction against a reference on a test set.

    rel_l2  = ||u_pred - u_ref||_2 / ||u_ref||_2
    mse     = mean((u_pred - u_ref)^2)
    max_abs = max |u_pred - u_ref|
    rel_h1  = sqrt(||e||^2 + ||grad e||^2) / sqrt(||u_ref||^2 + ||grad u_ref||^2)
"""

from __future__ import annotations

import numpy as np


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
    err = u_pred - u_ref
    ref_norm = _norm(u_ref)
    out = {
        "rel_l2": _norm(err) / ref_norm if ref_norm > 0 else float("nan"),
        "mse": float(np.mean(err**2)),
        "max_abs": float(np.max(np.abs(err))),
    }
    if grad_pred is not None and grad_ref is not None:
        num = np.sum(err**2) + np.sum((grad_pred - grad_ref) ** 2)
        den = np.sum(u_ref**2) + np.sum(grad_ref**2)
        out["rel_h1"] = float(np.sqrt(num / den)) if den > 0 else float("nan")
    return out


def _norm(a: np.ndarray) -> float:
    """``||a||_2`` without BLAS: ``np.linalg.norm`` of a large array calls the threaded BLAS
    ``dot``, whose worker threads then spin for a while; during training (metrics every
    step) they took CPU time from the next training step (2x slower steps measured on a
    2-core machine)."""
    return float(np.sqrt(np.sum(np.square(a))))
