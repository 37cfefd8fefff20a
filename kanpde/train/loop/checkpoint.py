"""A run's checkpoint: the file (written atomically, :func:`save_checkpoint`, read back by
:func:`load_checkpoint`), what it holds (model, learned coefficients, optimizer, every
shard's points, loss balancer, loop state) and how a trainer writes and resumes it (the
functions taking the :class:`~kanpde.train.loop.trainer.Trainer` as ``trainer``).
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import torch

from kanpde.core.atomic import atomic_path
from kanpde.models.backbone import grid_size_of
from kanpde.train import distributed
from kanpde.train.config import ConfigError
from kanpde.train.loop.state import Run

log = logging.getLogger("kanpde.train")


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


def resume_run(trainer, run: Run) -> None:
    """Load ``run.ckpt`` into the trainer and the run (ConfigError when it does not fit)."""
    if run.ckpt is None or not run.ckpt.is_file():
        raise ConfigError(
            f"train.resume: true but there is no checkpoint at {run.ckpt}; run "
            "without resume, or point hydra.run.dir at the run directory to continue"
        )
    ck = load_checkpoint(run.ckpt)
    if ck.get("n_shards", 1) != trainer.n_shards:
        raise ConfigError(
            f"train.shards: the checkpoint {run.ckpt} holds {ck.get('n_shards', 1)} "
            f"collocation shards, this run uses {trainer.n_shards}; resume with "
            f"train.shards={ck.get('n_shards', 1)} (a multiple of the process count)"
        )
    _restore_model(trainer, ck["model"], ck["grid_size"])
    if trainer.coefficients is not None:
        if ck.get("coefficients") is None:
            raise ConfigError(
                f"train.resume: the checkpoint {run.ckpt} holds no learned coefficients, "
                "this run learns some; resume with the settings of the original run"
            )
        trainer.coefficients.load_state_dict(ck["coefficients"])
    run.colloc.load_global_state(ck["points"])
    bal = dict(ck["balancer"])
    if bal["rba"] is not None:
        bal["rba"] = distributed.shard_slice(bal["rba"], trainer.n_shards, run.colloc.shards)
    trainer.balancer.load_state_dict(bal, trainer.device)
    run.st.update(ck["state"])
    run.optimizer_state = ck["optimizer"]
    if trainer.comm.is_main:
        log.info("resumed from %s at step %d", run.ckpt, run.st["step"])


def _restore_model(trainer, state: dict[str, torch.Tensor], grid_size: int | None) -> None:
    if grid_size is not None and grid_size_of(trainer.model) != grid_size:
        with torch.no_grad():
            trainer.model.extend_grid(grid_size)
    trainer.model.load_state_dict(state)
    trainer.model.to(trainer.device, trainer.dtype)


def write_checkpoint(trainer, run: Run, opt) -> None:
    """Rank 0 writes (atomically) the model, optimizer and every shard's points."""
    points = run.colloc.global_state(trainer.comm)  # collective: all ranks take part
    balancer = trainer.balancer.state_dict()
    if balancer["rba"] is not None:
        balancer["rba"] = trainer.comm.all_gather_cat(balancer["rba"].to(trainer.device)).cpu()
    if not trainer.comm.is_main:
        return
    save_checkpoint(
        run.ckpt,
        {
            "model": trainer.model.state_dict(),
            "coefficients": None if trainer.coefficients is None
            else trainer.coefficients.state_dict(),
            "grid_size": grid_size_of(trainer.model),
            "optimizer": opt.state_dict(),
            "points": points,
            "n_shards": trainer.n_shards,
            "balancer": balancer,
            "state": copy.deepcopy(run.st),
        },
    )
