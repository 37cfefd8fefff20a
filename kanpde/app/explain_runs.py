"""A finished run rebuilt from its ``run.h5``: problem, trained model, training points.

:func:`load_run` reads the stored config and model state and rebuilds problem, model and
sampler through :func:`kanpde.app.build` (the same code path as training);
:func:`training_points` redraws the run's collocation points (its sampler and seed);
:func:`accuracy` scores a model on given test points.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from kanpde.app.assemble import build, resolve_device
from kanpde.models.backbone import kan_backbone
from kanpde.results import read_run
from kanpde.results.tensors import load_state_dict_tensors
from kanpde.train.metrics import rel_l2


@dataclass
class LoadedRun:
    """A run rebuilt from its ``run.h5``."""

    run_dir: Path
    record: Any
    cfg: dict[str, Any]
    problem: Any
    model: torch.nn.Module
    sampler: Any
    train_cfg: Any
    device: torch.device
    dtype: torch.dtype
    names: list[str] = field(default_factory=list)


def load_run(run_dir: str | os.PathLike[str], device: str | None = None) -> LoadedRun:
    """Rebuild problem and trained model from ``run_dir/run.h5`` (see module docstring).

    Raises FileNotFoundError (no run.h5), ValueError (not a KAN run, bad config).
    """

    run_dir = Path(run_dir)
    path = run_dir / "run.h5"
    if not path.is_file():
        raise FileNotFoundError(f"{str(run_dir)!r} holds no run.h5")
    record = read_run(path)
    cfg = yaml.safe_load(record.config)
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: the stored config is not a mapping")
    if device is not None:
        cfg["device"] = device
    plan = build(cfg)
    problem, model, sampler, train_cfg = plan.problem, plan.model, plan.sampler, plan.train
    dev, dtype = plan.device, plan.dtype
    if device is not None:
        dev = resolve_device(device)
    model.load_state_dict(load_state_dict_tensors(record))
    model = model.to(dev, dtype)
    kan_backbone(model)
    return LoadedRun(run_dir, record, cfg, problem, model, sampler, train_cfg, dev, dtype,
                     list(problem.names))


def accuracy(model: torch.nn.Module, coords: np.ndarray, u_ref: np.ndarray) -> dict[str, float]:
    """``rel_l2`` and ``max_abs`` of ``model`` at ``coords`` ``(n, d)`` vs ``u_ref`` ``(n, k)``."""
    ref_p = next(model.parameters())
    x = torch.as_tensor(coords).to(ref_p.device, ref_p.dtype)
    with torch.no_grad():
        pred = torch.cat([model(x[s : s + 8192]) for s in range(0, x.shape[0], 8192)])
    pred = pred.double().cpu().numpy()
    err = pred - np.asarray(u_ref, dtype=np.float64)
    if not np.all(np.isfinite(err)):
        return {"rel_l2": math.inf, "max_abs": math.inf}
    return {"rel_l2": rel_l2(err, u_ref), "max_abs": float(np.abs(err).max())}


def training_points(run: LoadedRun, n_points: int) -> dict[str, torch.Tensor]:
    """The run's collocation points (its sampler and seed), at most ``n_points`` interior."""
    tc = run.train_cfg
    n_int = min(tc.n_interior, n_points)
    n_bnd = max(min(tc.n_boundary, n_points // 4), 8)
    pts = run.problem.sample_points(run.sampler, n_int, n_bnd, int(run.cfg.get("seed", 0)))
    return {k: v.to(run.device, run.dtype) for k, v in pts.items()}
