"""``python -m kanpde.bench contraction``: one KAN layer's jet step per contraction strategy.

Times ``forward_jet`` + backward of a single B-spline layer (``in -> out``, 2-D jets with the
diagonal pairs, N points) with ``contraction = "dense"``, ``"sparse"``, ``"edge"`` over grid
sizes, and prints what ``contraction="auto"`` picks; the data behind
:func:`kanpde.models.kan.contraction.choose_contraction`.
"""

from __future__ import annotations

import argparse

import torch

from kanpde.bench.common import DTYPES, add_common_args, header, median_time
from kanpde.models import Jet, KANLayer

MODES = ("dense", "sparse", "edge")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kanpde.bench contraction",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    parser.add_argument("--grids", nargs="+", type=int, default=[5, 10, 20, 50, 100])
    parser.add_argument("--layers", nargs="+", default=["10x10", "10x1", "32x32", "32x1",
                                                        "2x32"])
    args = parser.parse_args(argv)
    header(args, "contraction: one layer's forward_jet + backward")
    dtypes = ["float32"] if args.quick else args.dtypes
    grids = [5, 100] if args.quick else args.grids
    print(f"{'layer':<8}{'G':>5}{'dtype':>9}" + "".join(f"{m + ' ms':>11}" for m in MODES)
          + f"{'auto':>8}")
    for name in dtypes:
        dtype = DTYPES[name]
        for spec in args.layers:
            n_in, n_out = (int(v) for v in spec.split("x"))
            g = torch.Generator().manual_seed(0)
            x = torch.rand(args.n, n_in, generator=g, dtype=dtype) * 2 - 1
            d1 = torch.randn(args.n, 2, n_in, generator=g, dtype=dtype).requires_grad_(True)
            d2 = torch.randn(args.n, 2, n_in, generator=g, dtype=dtype).requires_grad_(True)
            x.requires_grad_(True)
            jet_in = Jet(x, d1, d2, ((0, 0), (1, 1)))
            for grid in grids:
                times = []
                for mode in MODES:
                    layer = KANLayer(n_in, n_out, grid, contraction=mode, seed=0, dtype=dtype)

                    def step(layer: KANLayer = layer, jet_in: Jet = jet_in) -> None:
                        jet = layer.forward_jet(jet_in)
                        (jet.value.sum() + jet.d1.sum() + jet.d2.sum()).backward()

                    times.append(median_time(step, args.repeats))
                auto = KANLayer(n_in, n_out, grid, seed=0).contraction_mode()
                print(f"{spec:<8}{grid:>5}{name:>9}" + "".join(f"{1e3 * t:11.1f}" for t in times)
                      + f"{auto:>8}", flush=True)
    return 0
