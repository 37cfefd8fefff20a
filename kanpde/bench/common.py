"""Timing helpers and the training steps the benchmark suites measure."""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from kanpde.core.dtypes import DTYPES
from kanpde.core.jet import Jet


def median_time(step: Callable[[], None], repeats: int, warmup: int = 2) -> float:
    """Median wall time (s) of ``step()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def unit_square_points(n: int, dtype: torch.dtype, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` interior points of ``[-1, 1]^2`` and ``n // 4`` points on its boundary."""
    g = torch.Generator().manual_seed(seed)
    interior = torch.rand(n, 2, generator=g, dtype=torch.float64) * 2 - 1
    nb = max(n // 4, 4)
    t = torch.rand(nb, generator=g, dtype=torch.float64) * 2 - 1
    side = torch.arange(nb) % 4
    fixed = torch.where(side % 2 == 0, -1.0, 1.0).double()
    boundary = torch.where((side < 2)[:, None], torch.stack([fixed, t], 1),
                           torch.stack([t, fixed], 1))
    return interior.to(dtype), boundary.to(dtype)


def poisson_source(x: Tensor) -> Tensor:
    """``f = -2 pi^2 sin(pi x) sin(pi y)`` ``(N, 1)``: the sinsin Poisson problem."""
    return (-2 * math.pi**2 * torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:2]))


def laplacian_autograd(model: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """``(u, lap u)`` by nested autograd (``create_graph=True``), each ``(N, 1)``."""
    x = x.detach().requires_grad_(True)
    u = model(x)
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    lap = 0.0
    for c in range(x.shape[1]):
        (h,) = torch.autograd.grad(g[:, c].sum(), x, create_graph=True)
        lap = lap + h[:, c : c + 1]
    return u, lap


def laplacian_jet(model: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """``(u, lap u)`` from ``model.forward_jet`` (diagonal pairs), each ``(N, 1)``."""
    jet = model.forward_jet(Jet.seed(x))
    return jet.value, jet.d2.sum(dim=1)


def regression_step(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor,
                    target: Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    loss = (model(x) - target).pow(2).mean()
    loss.backward()
    opt.step()


def pinn_step(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, f: Tensor,
              xb: Tensor | None, engine: str) -> None:
    """Poisson step: ``mean((lap u - f)^2) [+ mean(u(xb)^2)]``, backward, Adam."""
    opt.zero_grad(set_to_none=True)
    _, lap = (laplacian_jet if engine == "jets" else laplacian_autograd)(model, x)
    loss = (lap - f).pow(2).mean()
    if xb is not None:
        loss = loss + model(xb).pow(2).mean()
    loss.backward()
    opt.step()


def choices(parser: argparse.ArgumentParser, flag: str, value: str,
            allowed: Sequence[str]) -> list[str]:
    """The comma-separated ``value`` of ``flag`` as a list; a parser error (exit 2) naming
    the unknown entries and the allowed ones."""
    names = value.split(",")
    bad = [n for n in names if n not in allowed]
    if bad:
        parser.error(f"{flag}: unknown {bad}; allowed: {', '.join(allowed)}")
    return names


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per case (median)")
    parser.add_argument("--n", type=int, default=4096, help="interior points per step")
    parser.add_argument("--quick", action="store_true", help="a small subset of the cases")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads for this run (default: torch's choice)")
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))


def header(args: argparse.Namespace, title: str) -> None:
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"# {title}")
    print(f"# torch {torch.__version__}, threads={torch.get_num_threads()}, N={args.n}, "
          f"repeats={args.repeats} (median); CPU timings are noisy on a shared machine: "
          "compare the ratios within one run")
