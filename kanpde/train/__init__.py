"""Training: optimizer phases, grid schedules, resampling, NaN guard, checkpoints."""

from kanpde.train.checkpoint import load_checkpoint, save_checkpoint
from kanpde.train.config import ConfigError, GridSchedule, Phase, Resample, TrainConfig
from kanpde.train.metrics import error_metrics
from kanpde.train.trainer import Trainer, TrainResult, grid_size_of

__all__ = [
    "ConfigError",
    "GridSchedule",
    "Phase",
    "Resample",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "error_metrics",
    "grid_size_of",
    "load_checkpoint",
    "save_checkpoint",
]
