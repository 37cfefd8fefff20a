"""``python -m kanpde.bench jets``: Poisson PINN steps, derivative jets vs nested autograd.

One step = ``u, lap u`` at N interior points of ``[-1, 1]^2``, loss
``mean((lap u - f)^2) + mean(u(x_b)^2)`` with N/4 boundary points, backward, Adam step. The
Laplacian comes either from ``model.forward_jet`` (analytic jets, "jets") or from nested
autograd ("autograd"). Cases: KAN ``[2,10,10,1]`` and ``[2,32,32,1]`` at ``G = 5, 20, 100``
(ours with jets and with autograd; the efficient-kan formulation with autograd), a tanh MLP
``[2,64,64,64,1]`` and SIREN ``[2,64,64,64,1]`` (jets and autograd), and, for every KAN, a tanh
MLP with three hidden layers of equal parameter count (jets). Columns: ms per step and
  effkan/jet: the efficient-kan autograd step over our KAN jet step (target >= 10),
  jet/MLPeq:  our KAN jet step over the equal-parameter MLP jet step (target <= 1),
  G/G5:       our KAN jet step over the same network's at G = 5 (target < 2 at G = 100).
With ``--compile`` every jet step is also timed with the model's passes compiled
(:class:`kanpde.models.compiled.CompiledModel`, as ``train.compile=true`` does), adding
  comp ms:        the compiled jet step (the first call, compilation included, is not timed),
  effkan/comp:    the efficient-kan autograd step over our compiled KAN jet step,
  comp/MLPeq:     our compiled KAN jet step over the compiled equal-parameter MLP jet step,
  compile s:      seconds the first compiled step took (the compilation cost).
"""

from __future__ import annotations

import argparse
import time

import torch

from kanpde.bench.common import (
    DTYPES,
    add_common_args,
    header,
    median_time,
    pinn_step,
    poisson_source,
    unit_square_points,
)
from kanpde.bench.efficient_kan import EfficientKAN
from kanpde.models import KAN, MLP, SIREN, count_parameters, match_width
from kanpde.models.compiled import CompiledModel


def _time(model, engine: str, x, f, xb, repeats: int) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=1e-5)
    return median_time(lambda: pinn_step(model, opt, x, f, xb, engine), repeats)


def _time_compiled(model, x, f, xb, repeats: int) -> tuple[float, float]:
    """(median jet step, first step incl. compilation) of the compiled model, in s."""
    torch._dynamo.reset()  # fresh caches: many models in one process exceed the recompile limit
    net = CompiledModel(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-5)
    t0 = time.perf_counter()
    pinn_step(net, opt, x, f, xb, "jets")
    first = time.perf_counter() - t0
    return median_time(lambda: pinn_step(net, opt, x, f, xb, "jets"), repeats), first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kanpde.bench jets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    parser.add_argument("--grids", nargs="+", type=int, default=[5, 20, 100])
    parser.add_argument("--no-effkan", action="store_true",
                        help="skip the (slow) efficient-kan autograd reference")
    parser.add_argument("--compile", action="store_true",
                        help="also time compiled jet steps (train.compile=true); each model "
                             "compiles once, ~0.5 min on a CPU")
    args = parser.parse_args(argv)
    header(args, "jets: Poisson PINN step (Laplacian + boundary term, backward, Adam)")
    widths_list = [[2, 10, 10, 1], [2, 32, 32, 1]]
    grids = args.grids
    dtypes = args.dtypes
    if args.quick:
        widths_list, grids = [[2, 10, 10, 1]], [5, 100]
        dtypes = ["float32"] if args.dtypes == list(DTYPES) else args.dtypes
    comp = args.compile
    print(f"{'case':<34}{'dtype':<9}{'jets ms':>9}{'autograd ms':>13}{'effkan/jet':>12}"
          f"{'jet/MLPeq':>11}{'G/G5':>7}"
          + (f"{'comp ms':>9}{'effkan/comp':>13}{'comp/MLPeq':>12}{'compile s':>11}"
             if comp else ""))
    for name in dtypes:
        dtype = DTYPES[name]
        x, xb = unit_square_points(args.n, dtype)
        f = poisson_source(x)
        for label, model in (("MLP [2,64,64,64,1]", MLP([2, 64, 64, 64, 1], seed=0,
                                                          dtype=dtype)),
                             ("SIREN [2,64,64,64,1]", SIREN([2, 64, 64, 64, 1], seed=0,
                                                             dtype=dtype))):
            _time(model, "jets", x, f, xb, 1)  # warm up threads and the allocator
            t_jet = _time(model, "jets", x, f, xb, args.repeats)
            t_ag = _time(model, "autograd", x, f, xb, args.repeats)
            extra = ""
            if comp:
                t_c, first = _time_compiled(model, x, f, xb, args.repeats)
                extra = f"{'':30}{1e3 * t_c:9.1f}{'':25}{first:11.1f}"
            print(f"{label:<34}{name:<9}{1e3 * t_jet:9.1f}{1e3 * t_ag:13.1f}{extra}", flush=True)
        for widths in widths_list:
            base = None
            for g in grids:
                kan = KAN(widths, grid_size=g, seed=0, dtype=dtype)
                t_jet = _time(kan, "jets", x, f, xb, args.repeats)
                t_ag = _time(kan, "autograd", x, f, xb, args.repeats)
                n_params = count_parameters(kan)
                w = match_width("mlp", n_params, 2, 1, 3)
                mlp = MLP([2, w, w, w, 1], seed=0, dtype=dtype)
                t_mlp = _time(mlp, "jets", x, f, xb, args.repeats)
                base = t_jet if g == grids[0] else base
                eff = ""
                t_eff = None
                if not args.no_effkan:
                    ref = EfficientKAN(widths, grid_size=g, seed=0).to(dtype)
                    t_eff = _time(ref, "autograd", x, f, xb, args.repeats)
                    eff = f"{t_eff / t_jet:.1f}x"
                extra = extra_mlp = ""
                if comp:
                    t_c, first = _time_compiled(kan, x, f, xb, args.repeats)
                    t_mc, first_m = _time_compiled(mlp, x, f, xb, args.repeats)
                    eff_c = "" if t_eff is None else f"{t_eff / t_c:.1f}x"
                    extra = f"{1e3 * t_c:9.1f}{eff_c:>13}{t_c / t_mc:12.2f}{first:11.1f}"
                    extra_mlp = f"{'':30}{1e3 * t_mc:9.1f}{'':25}{first_m:11.1f}"
                tag = f"KAN [{','.join(map(str, widths))}] G={g}"
                print(f"{tag:<34}{name:<9}{1e3 * t_jet:9.1f}{1e3 * t_ag:13.1f}{eff:>12}"
                      f"{t_jet / t_mlp:11.2f}{t_jet / base:7.2f}{extra}", flush=True)
                print(f"{'  MLP eq. ' + str([2, w, w, w, 1]) + f' ({n_params} p)':<34}"
                      f"{name:<9}{1e3 * t_mlp:9.1f}{'':13}{extra_mlp}", flush=True)
    return 0
