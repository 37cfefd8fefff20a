"""The state of one training run: the loop counters and history a checkpoint carries, the
objects of one ``fit()``, and what a finished (or stopped) run returns."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kanpde.train.collocation import Collocation
from kanpde.train.evaluation import TestSet

#: called with each history row; a returned message stops the run ("pruned")
Monitor = Callable[[dict[str, float]], "str | None"]


def initial_state() -> dict[str, Any]:
    """The loop state of a fresh run (what checkpoints carry as ``state``)."""
    return {
        "step": 0, "phase": 0, "local": 0, "lr_scale": 1.0, "rollbacks": 0,
        "train_time": 0.0, "wall_time": 0.0, "history": {}, "last_terms": {},
        "last_loss": float("nan"), "ref_loss": None,
    }


@dataclass
class Run:
    """What one fit() carries besides the loop state: points, test set, checkpoint path,
    the outcome so far."""

    colloc: Collocation
    test: TestSet | None
    ckpt: Path | None
    st: dict[str, Any]
    status: str = "completed"
    message: str = ""
    optimizer_state: dict[str, Any] | None = None
    bar: Any = field(default=None)
    t_wall: float = field(default_factory=time.perf_counter)  # when this fit() began
    wall_prior: float = 0.0  # wall seconds of the segments before a resume

    def wall_time(self) -> float:
        """Wall seconds of the whole run so far: earlier segments plus this one."""
        return self.wall_prior + time.perf_counter() - self.t_wall


@dataclass
class TrainResult:
    """What a finished (or stopped) run leaves: status, history, final metrics, prediction."""

    status: str  # "completed" | "diverged" | "interrupted" | "pruned"
    message: str
    history: dict[str, np.ndarray]
    final: dict[str, float]
    u_pred: np.ndarray
    test: TestSet | None  # None on ranks other than 0 of a data-parallel run
    steps: int
    wall_time_s: float  # of fit(), summed over the segments of a resumed run
    train_time_s: float  # of the optimizer steps alone, likewise summed
    coefficients: dict[str, float] = field(default_factory=dict)  # learned values, if any
    extra: dict[str, Any] = field(default_factory=dict)
