"""Data-parallel speedup: training steps on 1 vs W gloo processes over one collocation set.

    python -m kanpde.bench distributed [--n 131072] [--procs 1 2] [--threads 1] [--steps 10]

The KAN-paper Poisson problem (sinsin), a KAN ``[2,10,1]`` G=5 (scaled inputs) and ``n``
Sobol interior points in all (plus ``n/8`` boundary points), split into W equal shards, one
per process (W = 1: one process holds them all). Each process runs ``--threads`` torch
threads, so W processes use W x threads cores. A timed step is the trainer's own Adam step
(forward with the derivative engine, loss and term reduction over the ranks, backward,
gradient all-reduce, optimizer step); its time is the slowest rank's. Prints the median
step time per process count and the speedup over one process; with ``--compare-threads``
also one process with W x threads threads (intra-op parallelism on the same cores).
Timings need a quiet machine; tests never assert them.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time

import torch
import torch.multiprocessing as mp

from kanpde.core.dtypes import DTYPES
from kanpde.models import KAN, ScaledModel
from kanpde.problems.poisson import Poisson
from kanpde.train import TrainConfig, Trainer, distributed
from kanpde.train.collocation import Collocation
from kanpde.train.distributed import local_shards
from kanpde.train.optim import make_optimizer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _step_times(comm, args) -> list[float]:
    """Per-step wall times (s) on this rank, ``args.steps`` after ``args.warmup``."""

    dtype = DTYPES[args.dtype]
    problem = Poisson(variant="sinsin")
    net = KAN(widths=[int(w) for w in args.widths.split(",")], grid_size=args.grid, seed=0)
    model = ScaledModel(net, problem.domain.lo, problem.domain.hi)
    n_boundary = max(args.n // 8 // comm.world_size, 1) * comm.world_size
    cfg = TrainConfig.from_dict({
        "phases": [{"optimizer": "adam", "steps": args.warmup + args.steps, "lr": 1e-3}],
        "n_interior": args.n, "n_boundary": n_boundary, "progress": False,
        "shards": comm.world_size,
    })
    trainer = Trainer(problem, model, "sobol", cfg, seed=0, engine=args.engine, dtype=dtype,
                      comm=comm)
    colloc = Collocation(problem, trainer.sampler, cfg.n_interior, cfg.n_boundary,
                         cfg.resample, 0, trainer.device, dtype, comm.world_size,
                         local_shards(comm.world_size, comm))
    opt = make_optimizer(cfg.phases[0], trainer.model.parameters(), 1e-3)
    times = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        trainer._step(opt, "adam", colloc.points)
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    t = comm.all_reduce(torch.tensor(times, dtype=torch.float64), "max")  # slowest rank
    return t.tolist()


def _rank(rank: int, world: int, port: int, threads: int, args, queue) -> None:

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(threads)
    comm = distributed.init_from_env(backend="gloo")
    try:
        times = _step_times(comm, args)
        if comm.is_main:
            queue.put(times)
    finally:
        distributed.shutdown()


def run(world: int, threads: int, args) -> list[float]:
    """Step times (s) of one configuration: ``world`` processes x ``threads`` threads."""
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    mp.start_processes(_rank, args=(world, _free_port(), threads, args, queue),
                       nprocs=world, join=True, start_method="spawn")
    return queue.get()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kanpde.bench distributed",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=2**17, help="interior points in all (all ranks)")
    p.add_argument("--procs", type=int, nargs="+", default=[1, 2], help="process counts")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--steps", type=int, default=10, help="timed steps (median)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--widths", default="2,10,1")
    p.add_argument("--grid", type=int, default=5)
    p.add_argument("--dtype", default="float32", choices=list(DTYPES))
    p.add_argument("--engine", default="jets", choices=["jets", "autograd"])
    p.add_argument("--compare-threads", action="store_true",
                   help="also one process with max(procs) x threads threads")
    args = p.parse_args(argv)
    for w in args.procs:
        if w < 1 or args.n % w:
            p.error(f"--procs: {w} must be >= 1 and divide --n={args.n}")
    if args.steps < 1 or args.threads < 1 or args.warmup < 0:
        p.error("--steps and --threads must be >= 1, --warmup >= 0")
    print(f"# data-parallel Poisson steps: KAN [{args.widths}] G={args.grid}, {args.dtype}, "
          f"{args.engine}, N={args.n} interior points in all, gloo on CPU, "
          f"{args.threads} thread(s) per process, cpu_count={os.cpu_count()}, "
          f"median of {args.steps} steps (slowest rank)")
    print(f"{'processes':>9} {'threads':>7} {'points/rank':>11} {'median ms':>10} "
          f"{'min ms':>8} {'speedup':>8} {'efficiency':>10}")
    base = None
    rows = [(w, args.threads) for w in args.procs]
    if args.compare_threads:
        rows.append((1, max(args.procs) * args.threads))
    for w, threads in rows:
        times = run(w, threads, args)
        med = statistics.median(times)
        if base is None and w == 1 and threads == args.threads:
            base = med
        speed = base / med if base else float("nan")
        eff = speed / (w * threads / args.threads)
        print(f"{w:>9} {threads:>7} {args.n // w:>11} {1e3 * med:>10.1f} "
              f"{1e3 * min(times):>8.1f} {speed:>8.2f} {eff:>10.2f}", flush=True)
    return 0
