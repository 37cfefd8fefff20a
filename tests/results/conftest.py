"""Builders of synthetic run.h5 contents for the io and plots tests."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch


def base_attrs(**overrides: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "device": "cpu",
        "dtype": "float64",
        "seed": 3,
        "n_params": 17,
        "wall_time_s": 1.25,
        "status": "completed",
        "problem": "poisson",
        "model": "kan",
    }
    attrs.update(overrides)
    return attrs


def grid_coords(axes: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """ij-meshgrid of the axes, flattened: (prod n_k, d)."""
    mesh = np.meshgrid(*[a for _, a in axes], indexing="ij")
    return np.stack(mesh, axis=-1).reshape(-1, len(axes))


def history_rows(n: int, terms: tuple[str, ...] = ("residual", "bc")) -> dict[str, np.ndarray]:
    step = np.arange(n, dtype=np.int64) * 10
    h: dict[str, np.ndarray] = {
        "step": step,
        "time_s": 0.05 * np.arange(n, dtype=np.float64),
        "loss": np.exp(-0.1 * np.arange(n)),
        "rel_l2": 0.5 * np.exp(-0.05 * np.arange(n)),
        "grid_size": np.where(np.arange(n) < n // 2, 5, 10).astype(np.int64),
        "lr": np.full(n, 1e-3),
    }
    for k, term in enumerate(terms):
        h[f"loss_{term}"] = (k + 1) * 0.3 * np.exp(-0.1 * np.arange(n))
        h[f"weight_{term}"] = np.ones(n)
    return h


def small_model(dim_in: int, dim_out: int, dtype: torch.dtype) -> torch.nn.Module:
    torch_gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(dim_in, 4), torch.nn.Tanh(), torch.nn.Linear(4, dim_out)
    ).to(dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=torch_gen, dtype=dtype))
    return model


def run_kwargs(
    axes: list[tuple[str, np.ndarray]],
    u: Callable[[np.ndarray], np.ndarray],
    *,
    dtype: type = np.float64,
    n_hist: int = 12,
    **attr_overrides: Any,
) -> dict[str, Any]:
    """Keyword arguments of write_run for a run on the grid ``axes`` with exact solution u.

    u maps coords (n, d) to (n, dim_out); the "prediction" is u plus a smooth perturbation.
    """
    coords = grid_coords(axes).astype(dtype)
    u_ref = u(coords).astype(dtype)
    u_pred = (u_ref + 0.01 * np.cos(coords.sum(axis=1, keepdims=True))).astype(dtype)
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    model = small_model(coords.shape[1], u_ref.shape[1], tdtype)
    return {
        "config_yaml": "seed: 3\nproblem:\n  name: test\n",
        "attrs": base_attrs(dtype=np.dtype(dtype).name, **attr_overrides),
        "history": history_rows(n_hist),
        "final": {"rel_l2": 0.0123, "mse": 1e-5, "max_abs": 0.01},
        "eval_fields": {"coords": coords, "u_pred": u_pred, "u_ref": u_ref},
        "eval_axes": [(name, a.astype(dtype)) for name, a in axes],
        "model_state": model.state_dict(),
        "model_info": {"class": "Sequential", "widths": [coords.shape[1], 4, u_ref.shape[1]]},
    }


def sinsin(c: np.ndarray) -> np.ndarray:
    return (np.sin(np.pi * c[:, 0]) * np.sin(np.pi * c[:, 1]))[:, None]


def heat1d(c: np.ndarray) -> np.ndarray:
    """u(t, x) = exp(-pi^2 t) sin(pi x) for coords ordered (t, x)."""
    return (np.exp(-(np.pi**2) * c[:, 0]) * np.sin(np.pi * c[:, 1]))[:, None]


def heat2d(c: np.ndarray) -> np.ndarray:
    """u(x, y, t) for coords ordered (x, y, t)."""
    return (np.exp(-2 * np.pi**2 * c[:, 2]) * np.sin(np.pi * c[:, 0]) * np.sin(np.pi * c[:, 1]))[
        :, None
    ]


@pytest.fixture
def synth() -> SimpleNamespace:
    """The builders above, for the tests (conftest modules are not imported directly)."""
    return SimpleNamespace(
        base_attrs=base_attrs,
        grid_coords=grid_coords,
        history_rows=history_rows,
        small_model=small_model,
        run_kwargs=run_kwargs,
        sinsin=sinsin,
        heat1d=heat1d,
        heat2d=heat2d,
    )
