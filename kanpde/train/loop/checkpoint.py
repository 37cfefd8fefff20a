"""A run's checkpoint file: written atomically (:func:`save_checkpoint`), read back on the
CPU (:func:`load_checkpoint`). What it holds and how a run resumes from it are the
trainer's (:meth:`~kanpde.train.loop.trainer.Trainer.write_checkpoint`,
:meth:`~kanpde.train.loop.trainer.Trainer.resume`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from kanpde.core.atomic import atomic_path


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` atomically (:func:`kanpde.core.atomic.atomic_path`)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors on the CPU)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a truncated or foreign file
        raise ValueError(f"checkpoint {path} is unreadable: {exc}") from exc
