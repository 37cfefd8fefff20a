"""Training: optimizer phases, grid schedules, resampling, NaN guard, checkpoints."""

from kanpde.train.config import ConfigError, GridSchedule, Phase, Resample, TrainConfig
from kanpde.train.distributed import Comm, PeerLost, init_from_env
from kanpde.train.loop.checkpoint import load_checkpoint, save_checkpoint
from kanpde.train.loop.state import Monitor, TrainResult
from kanpde.train.loop.trainer import Trainer
from kanpde.train.metrics import error_metrics

__all__ = [
    "Comm",
    "ConfigError",
    "GridSchedule",
    "PeerLost",
    "Phase",
    "Resample",
    "TrainConfig",
    "Monitor",
    "TrainResult",
    "Trainer",
    "error_metrics",
    "init_from_env",
    "load_checkpoint",
    "save_checkpoint",
]
