"""Data-parallel training on ``torch.distributed``: process group, reductions, shards.

A run on ``W`` processes (ranks) launched by ``torchrun`` trains ``W`` identical replicas of
the model. The collocation set of every loss term is the union of ``S`` equal *shards*
(``S = train.shards``, by default ``W``); rank ``r`` holds the contiguous block of shards
``[r S/W, (r+1) S/W)``, each drawn from its own seed (:func:`shard_seed`). With equal shard
sizes ``n`` and ``N = S n`` points in all, a mean-square loss over the union is the average
of the per-rank means,

    L = (1/N) sum_i r_i^2 = (1/W) sum_r L_r,       grad L = (1/W) sum_r grad L_r,

so averaging the per-rank losses and gradients with an all-reduce gives on every rank
exactly the loss and gradient of one process holding all ``N`` points (a single process
builds the same union with ``train.shards=S``). Everything that decides a branch (NaN
guard, time budget, stop signal) or refits the model (grid extension and update on the
gathered points) is reduced or broadcast, so the replicas never diverge.

Backends: NCCL for CUDA tensors, gloo for CPU tensors (``cpu:gloo,cuda:nccl`` when CUDA is
present). A collective that fails (a peer died) or exceeds the timeout raises
:class:`PeerLost`, naming the rank and the operation.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch import Tensor

from kanpde.train.config import ConfigError

TIMEOUT_ENV = "KANPDE_DIST_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 300.0
_OPS = {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX, "min": dist.ReduceOp.MIN}


class PeerLost(RuntimeError):
    """A collective failed or timed out: another rank of the job died or hangs."""


def env_world_size() -> int:
    """``WORLD_SIZE`` from the environment (set by ``torchrun``); 1 when absent."""
    raw = os.environ.get("WORLD_SIZE", "1")
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"WORLD_SIZE: expected a positive integer, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"WORLD_SIZE: expected a positive integer, got {raw!r}")
    return value


def timeout_s() -> float:
    """Collective timeout in seconds: ``$KANPDE_DIST_TIMEOUT_S`` (default 300)."""
    raw = os.environ.get(TIMEOUT_ENV)
    if raw is None:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise ConfigError(f"{TIMEOUT_ENV}: expected a number of seconds > 0, got {raw!r}")
    return value


class Comm:
    """Rank, world size and the collectives the trainer uses.

    With ``world_size == 1`` (no process group) every operation is the identity, so the
    single-process code path is unchanged. Tensors passed to collectives stay on their
    device (NCCL for CUDA, gloo for CPU).
    """

    def __init__(self, rank: int = 0, world_size: int = 1, local_rank: int = 0) -> None:
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.local_rank = int(local_rank)

    def __repr__(self) -> str:
        return f"Comm(rank={self.rank}, world_size={self.world_size})"

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only rank that logs, evaluates and writes files."""
        return self.rank == 0

    def _run(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PeerLost:
            raise
        except RuntimeError as exc:  # DistBackendError, DistNetworkError, gloo/NCCL errors
            raise PeerLost(
                f"rank {self.rank} of {self.world_size}: {what} failed, another rank of the "
                f"job died or stopped responding (timeout {timeout_s():g} s, "
                f"${TIMEOUT_ENV}): {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            ) from exc

    # ------------------------------------------------------------- reductions
    def all_reduce(self, t: Tensor, op: str = "sum") -> Tensor:
        """Elementwise ``op`` ("sum" | "mean" | "max" | "min") of ``t`` over the ranks."""
        if not self.distributed:
            return t
        out = t.detach().clone().contiguous()
        self._run(f"all_reduce({op})", dist.all_reduce, out,
                  op=_OPS["sum" if op == "mean" else op])
        if op == "mean":
            out /= self.world_size
        return out

    def all_true(self, flag: bool, device: torch.device | str = "cpu") -> bool:
        """Whether ``flag`` holds on every rank."""
        if not self.distributed:
            return bool(flag)
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        return bool(self.all_reduce(t, "min").item() > 0.5)

    def average_gradients(self, params: Sequence[Tensor]) -> None:
        """Replace each ``p.grad`` by its mean over the ranks (one flat all-reduce).

        Parameters without a gradient are skipped; they are the same on every rank (same
        model, same loss terms)."""
        if not self.distributed:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        flat = self.all_reduce(flat, "mean")
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset : offset + n].view_as(g))
            offset += n

    def all_gather_cat(self, t: Tensor) -> Tensor:
        """``(W * n, ...)``: the ranks' ``(n, ...)`` tensors stacked in rank order."""
        if not self.distributed:
            return t
        t = t.detach().contiguous()
        parts = [torch.empty_like(t) for _ in range(self.world_size)]
        self._run("all_gather", dist.all_gather, parts, t)
        return torch.cat(parts, dim=0)

    def broadcast_module(self, module: torch.nn.Module, src: int = 0) -> None:
        """Overwrite every parameter and buffer with rank ``src``'s (same shapes required).

        Broadcast into contiguous copies (a parameter may be a non-contiguous view, e.g. a
        least-squares solution, which a collective would not write back), then loaded with
        ``load_state_dict`` so modules recompute tables derived from their buffers."""
        if not self.distributed:
            return
        state = {k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}
        for t in state.values():
            self._run("broadcast", dist.broadcast, t, src=src)
        with torch.no_grad():
            module.load_state_dict(state)

    def broadcast_object(self, obj, src: int = 0):
        """Rank ``src``'s picklable ``obj`` on every rank."""
        if not self.distributed:
            return obj
        box = [obj if self.rank == src else None]
        self._run("broadcast_object_list", dist.broadcast_object_list, box, src=src)
        return box[0]


_SINGLE = Comm()


def current() -> Comm:
    """The :class:`Comm` of the initialised default process group, else a single process."""
    if dist.is_available() and dist.is_initialized():
        return Comm(dist.get_rank(), dist.get_world_size(),
                    int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    return _SINGLE


def init_from_env(backend: str | None = None) -> Comm:
    """Join the process group described by ``torchrun``'s environment variables.

    ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` (env://
    initialisation). Without them (or with ``WORLD_SIZE=1``) nothing is initialised and a
    single-process :class:`Comm` is returned. ``backend`` defaults to
    ``"cpu:gloo,cuda:nccl"`` when CUDA is available, else ``"gloo"``; CUDA processes bind
    to ``cuda:<LOCAL_RANK>``. The collective timeout is :func:`timeout_s`.
    """
    if dist.is_initialized():
        return current()
    world = env_world_size()
    if world == 1:
        return _SINGLE
    missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise ConfigError(
            f"WORLD_SIZE={world} but {', '.join(missing)} not set: launch with torchrun "
            "(torchrun --nproc_per_node=<n> -m kanpde ...)"
        )
    if backend is None:
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
    dist.init_process_group(
        backend=backend, init_method="env://", timeout=_dt.timedelta(seconds=timeout_s())
    )
    return current()


def shutdown() -> None:
    """Leave the process group together (no-op when none was initialised).

    A barrier first: a rank that tears its communicator down while a peer is still
    writing results can abort in Gloo's threads at interpreter exit. A barrier that fails
    (a peer already gone) is ignored: leaving is all that is left to do."""
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        except RuntimeError:  # DistBackendError and friends
            pass
        dist.destroy_process_group()


# ------------------------------------------------------------------- shards
def resolve_shards(shards: int | None, world_size: int) -> int:
    """The number of shards ``S``: ``train.shards`` or, when unset, the world size.

    ``S`` must be a multiple of the world size (each rank holds ``S / W`` shards)."""
    s = world_size if shards is None else int(shards)
    if s % world_size:
        raise ConfigError(
            f"train.shards: {s} shards cannot be split over {world_size} processes; use a "
            f"multiple of the world size (e.g. {world_size}) or leave it null"
        )
    return s


def local_shards(n_shards: int, comm: Comm) -> list[int]:
    """Shard indices held by ``comm.rank``: a contiguous block of ``n_shards / W``."""
    per = n_shards // comm.world_size
    return list(range(comm.rank * per, (comm.rank + 1) * per))


def shard_slice(t: Tensor, n_shards: int, shards: Sequence[int]) -> Tensor:
    """Rows of the contiguous shards ``shards`` of ``t`` ``(S n, ...)`` (equal shards)."""
    if t.shape[0] % n_shards:
        raise ValueError(f"{t.shape[0]} rows do not split into {n_shards} equal shards")
    n = t.shape[0] // n_shards
    return t[shards[0] * n : (shards[-1] + 1) * n]



def export_submitit_env() -> bool:
    """Inside a submitit job of several tasks (``hydra/launcher=slurm`` or
    ``submitit_local`` with ``tasks_per_node > 1``), set torchrun's variables (``RANK``,
    ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``) from the job with
    submitit's own helper, so :func:`init_from_env` joins the tasks into one process group.
    Returns whether it did; outside such a job (or under torchrun) it does nothing."""
    if "RANK" in os.environ or not os.environ.get("SUBMITIT_EXECUTOR"):
        return False
    from submitit import JobEnvironment
    from submitit.helpers import TorchDistributedEnvironment

    if JobEnvironment().num_tasks <= 1:
        return False
    TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
    return True
