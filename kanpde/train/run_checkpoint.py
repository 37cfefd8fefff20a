"""A run's checkpoint: what it holds (model, learned coefficients, optimizer, every shard's
points, loss balancer, loop state) and how a trainer resumes from it.

The functions take the :class:`~kanpde.train.trainer.Trainer` as ``trainer``: they are its
checkpoint methods, kept in their own module.
"""

from __future__ import annotations

import copy
import logging

import torch

from kanpde.models.backbone import grid_size_of
from kanpde.train import distributed
from kanpde.train.checkpoint import load_checkpoint, save_checkpoint
from kanpde.train.config import ConfigError
from kanpde.train.run_state import Run

log = logging.getLogger("kanpde.train")


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
