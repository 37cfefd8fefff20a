"""The training loop: the trainer (:mod:`.trainer`: optimizer phases, evaluation, the run's
state in :mod:`.state`), its checkpoints (:mod:`.checkpoint`: the file, written atomically,
and resuming from it), and the parts of a step: the grid schedule (:mod:`.grid_events`), a
first-order step (:mod:`.first_order`), the NaN guard (:mod:`.guard`), stop requests and
time budgets (:mod:`.stopping`), the history rows (:mod:`.history`)."""

from kanpde.train.loop.checkpoint import load_checkpoint, save_checkpoint
from kanpde.train.loop.state import TrainResult
from kanpde.train.loop.trainer import Trainer

__all__ = ["TrainResult", "Trainer", "load_checkpoint", "save_checkpoint"]
