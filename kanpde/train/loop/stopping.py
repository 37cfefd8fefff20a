"""When a training run stops early: a signal (SIGTERM/SIGINT) or the training-time budget.

Both decisions are agreed by every rank of a data-parallel run (:meth:`StopSignal.agree`):
a signal on any rank stops every rank, and the training time that counts against
``train.max_time_s`` is the slowest rank's.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import torch

from kanpde.train import distributed


class StopSignal:
    """Set by SIGTERM/SIGINT while active (a context manager, main thread only): the loop
    checkpoints and ends with status "interrupted"."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> StopSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:  # noqa: ARG002
        self.requested = True

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        self._old.clear()

    def agree(self, train_time: float, comm: distributed.Comm,
              device: torch.device | str = "cpu") -> float:
        """Make the stop flag the same on every rank; returns the slowest rank's time."""
        if not comm.distributed:
            return train_time
        flags = torch.tensor([float(self.requested), train_time], dtype=torch.float64,
                             device=device)
        flags = comm.all_reduce(flags, "max")
        self.requested = bool(flags[0] > 0)
        return float(flags[1])


def out_of_time(train_time: float, max_time_s: float) -> bool:
    """Whether the training-time budget ``max_time_s`` (0: none) is spent."""
    return max_time_s > 0 and train_time >= max_time_s
