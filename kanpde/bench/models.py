"""``python -m kanpde.bench models``: training-step costs with nested autograd.

For each dtype, N points in ``[-1, 1]^2`` and each model, the median time of
  (a) a regression step: forward, MSE, backward, Adam step;
  (b) a physics-informed step: the Laplacian of the output by nested autograd
      (``create_graph=True``), ``mean((lap u - f)^2)``, backward, Adam step;
for KAN ``[2,10,10,1]`` and ``[2,32,32,1]`` at ``G = 5, 20`` (ours and the efficient-kan
formulation, :mod:`kanpde.bench.efficient_kan`), MLP ``[2,64,64,64,1]`` (tanh) and SIREN
``[2,64,64,64,1]``; printed as milliseconds and as ratios to the MLP of the same run.
"""

from __future__ import annotations

import argparse
import math

import torch

from kanpde.bench.common import (
    DTYPES,
    add_common_args,
    header,
    median_time,
    pinn_step,
    poisson_source,
    regression_step,
    unit_square_points,
)
from kanpde.bench.efficient_kan import EfficientKAN
from kanpde.models import KAN, MLP, SIREN


def _measure(model, x, target, f, repeats: int) -> tuple[float, float]:
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    t_reg = median_time(lambda: regression_step(model, opt, x, target), repeats)
    t_pinn = median_time(lambda: pinn_step(model, opt, x, f, None, "autograd"), repeats)
    return t_reg, t_pinn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kanpde.bench models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    args = parser.parse_args(argv)
    header(args, "models: regression and nested-autograd physics-informed steps")
    cases = [([2, 10, 10, 1], 5), ([2, 10, 10, 1], 20), ([2, 32, 32, 1], 5),
             ([2, 32, 32, 1], 20)]
    dtypes = args.dtypes
    if args.quick:
        cases = [([2, 10, 10, 1], 5)]
        dtypes = ["float32"] if args.dtypes == list(DTYPES) else args.dtypes
    print(f"{'model':<28}{'dtype':<9}{'reg ms':>9}{'reg/MLP':>9}{'pinn ms':>10}"
          f"{'pinn/MLP':>10}{'effkan/ours':>13}")
    for name in dtypes:
        dtype = DTYPES[name]
        x, _ = unit_square_points(args.n, dtype)
        f = poisson_source(x)
        target = torch.sin(math.pi * x[:, :1]) * torch.cos(x[:, 1:2])
        mlp = MLP([2, 64, 64, 64, 1], seed=0, dtype=dtype)
        _measure(mlp, x, target, f, 1)  # warm up threads and the allocator
        mlp_reg, mlp_pinn = _measure(mlp, x, target, f, args.repeats)
        ref_times = (mlp_reg, mlp_pinn)

        def row(label: str, t_reg: float, t_pinn: float, extra: str = "",
                dtype_name: str = name, ref: tuple[float, float] = ref_times) -> None:
            print(f"{label:<28}{dtype_name:<9}{1e3 * t_reg:9.1f}{t_reg / ref[0]:9.2f}"
                  f"{1e3 * t_pinn:10.1f}{t_pinn / ref[1]:10.2f}{extra:>13}", flush=True)

        row("MLP [2,64,64,64,1]", mlp_reg, mlp_pinn)
        siren = SIREN([2, 64, 64, 64, 1], seed=0, dtype=dtype)
        row("SIREN [2,64,64,64,1]", *_measure(siren, x, target, f, args.repeats))
        for widths, g in cases:
            ours = KAN(widths, grid_size=g, seed=0, dtype=dtype)
            t_reg, t_pinn = _measure(ours, x, target, f, args.repeats)
            ref = EfficientKAN(widths, grid_size=g, seed=0).to(dtype)
            e_reg, e_pinn = _measure(ref, x, target, f, args.repeats)
            tag = f"[{','.join(map(str, widths))}] G={g}"
            row(f"KAN {tag}", t_reg, t_pinn, f"{e_pinn / t_pinn:.2f}x")
            row(f"effkan {tag}", e_reg, e_pinn)
    return 0
