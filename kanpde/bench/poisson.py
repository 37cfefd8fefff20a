"""Poisson benchmark (KAN paper, section 3.4): KAN with a grid schedule against MLP and
SIREN baselines of matched parameter count under the same optimizer budget.

    python -m kanpde.bench poisson [--quick] [--engines jets,autograd,jets+compile]
                                   [--models kan,mlp,siren]

Prints, per run: model, widths, parameters, steps, training time, time to rel_l2 <= target,
and the final rel_l2 / MSE on the 201 x 201 test grid. Float64 on the CPU unless told
otherwise. Settings are those of ``conf/train/default.yaml``: L-BFGS (strong Wolfe), 60
steps of up to 20 iterations, 10,000 Sobol interior and 800 boundary points, KAN grid
G = 5 -> 10 -> 20 at steps 20 and 40. Baselines are sized to the KAN's final parameter count
(G = 20) with :func:`kanpde.models.match_width` (depth 2 hidden layers). The engine
``<engine>+compile`` trains with ``train.compile=true`` (compilations counted in the time).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from kanpde.models import KAN, MLP, SIREN, ScaledModel, count_parameters, match_width
from kanpde.pde import make_sampler
from kanpde.pde.derivatives import ENGINES
from kanpde.problems.poisson import Poisson
from kanpde.train import TrainConfig, Trainer

KAN_WIDTHS = [2, 10, 1]


def _train_config(quick: bool, compile_: bool = False) -> dict:
    steps = 12 if quick else 60
    third = steps // 3
    return {
        "compile": compile_,
        "phases": [{"optimizer": "lbfgs", "steps": steps, "max_iter": 20, "history_size": 10}],
        "grid": {"extend_at": [third, 2 * third], "sizes": [10, 20]},
        "n_interior": 2000 if quick else 10000,
        "n_boundary": 200 if quick else 800,
        "eval_every": 1,
        "progress": False,
    }


def build_model(name: str, target_params: int, seed: int):
    """The backbone by family name; baselines sized to ``target_params``."""

    if name == "kan":
        return KAN(widths=KAN_WIDTHS, grid_size=5, spline_order=3, seed=seed)
    family = {"mlp": MLP, "siren": SIREN}[name]
    width = match_width(name, target_params, 2, 1, 2)
    return family(widths=[2, width, width, 1], seed=seed)


def kan_final_params() -> int:
    """Parameter count of the KAN after its last grid extension (G = 20)."""

    return count_parameters(KAN(widths=KAN_WIDTHS, grid_size=20, spline_order=3, seed=0))


def time_to_target(history: dict[str, np.ndarray], target: float) -> float:
    """Training time (s) of the first history row with rel_l2 <= target (nan if never)."""
    hit = np.nonzero(history["rel_l2"] <= target)[0]
    return float(history["time_s"][hit[0]]) if hit.size else math.nan


def run_one(name: str, engine: str, quick: bool, seed: int, dtype: torch.dtype,
            target: float) -> dict:

    base_engine, _, suffix = engine.partition("+")
    if suffix not in ("", "compile") or base_engine not in ENGINES:
        raise ValueError(
            f"engine {engine!r}: allowed {'|'.join(ENGINES)}, optionally +compile"
        )
    problem = Poisson()
    net = build_model(name, kan_final_params(), seed)
    model = ScaledModel(net, problem.domain.lo, problem.domain.hi)
    cfg = TrainConfig.from_dict(_train_config(quick, suffix == "compile"))
    t0 = time.perf_counter()
    result = Trainer(problem, model, make_sampler("sobol"), cfg, seed=seed, engine=base_engine,
                     dtype=dtype).fit()
    return {
        "model": name,
        "widths": list(net.widths),
        "params": count_parameters(model),
        "engine": engine,
        "steps": result.steps,
        "train_s": result.train_time_s,
        "wall_s": time.perf_counter() - t0,
        "t_target": time_to_target(result.history, target),
        "rel_l2": result.final["rel_l2"],
        "mse": result.final["mse"],
        "status": result.status,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kanpde.bench poisson", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small budget (seconds)")
    parser.add_argument("--models", default="kan,mlp,siren")
    parser.add_argument("--engines", default="jets",
                        help="comma list of auto|jets|autograd, each optionally +compile")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    parser.add_argument("--target", type=float, default=1e-3, help="rel_l2 target")
    args = parser.parse_args(argv)
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.dtype]
    print(f"Poisson benchmark (KAN paper 3.4), {args.dtype}, CPU threads "
          f"{torch.get_num_threads()}, seed {args.seed}, target rel_l2 <= {args.target:g}")
    head = (f"{'model':6} {'widths':>16} {'params':>6} {'engine':>12} {'steps':>5} "
            f"{'train_s':>8} {'t_target':>8} {'rel_l2':>9} {'mse':>9}")
    print(head)
    rows = []
    for engine in args.engines.split(","):
        for name in args.models.split(","):
            r = run_one(name, engine, args.quick, args.seed, dtype, args.target)
            rows.append(r)
            print(f"{r['model']:6} {str(r['widths']):>16} {r['params']:6d} {r['engine']:>12} "
                  f"{r['steps']:5d} {r['train_s']:8.1f} {r['t_target']:8.1f} "
                  f"{r['rel_l2']:9.2e} {r['mse']:9.2e}", flush=True)
    engines = args.engines.split(",")
    if "autograd" in engines:
        for eng in (e for e in engines if e != "autograd"):
            for name in args.models.split(","):
                j = next(r for r in rows if r["model"] == name and r["engine"] == eng)
                a = next(r for r in rows if r["model"] == name and r["engine"] == "autograd")
                print(f"{name}: time to target autograd/{eng} = "
                      f"{a['t_target'] / j['t_target']:.2f}x, per-run train time "
                      f"autograd/{eng} = {a['train_s'] / j['train_s']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
