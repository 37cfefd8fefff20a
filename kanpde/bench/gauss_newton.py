"""Gauss-Newton against L-BFGS, KAN against MLP, on the four benchmark problems.

    python -m kanpde.bench gauss_newton [--problems poisson,darcy,heat,allen_cahn]
        [--models kan,mlp] [--optimizers gauss_newton,lbfgs] [--quick]

Every run of a problem gets the same points (Sobol, seed 0), the same training-time budget
(``train.max_time_s``) and the same KAN grid ladder at the same steps; the optimizer decides
how many steps fit. Float64 on the CPU. Per run it prints the training time, the steps, the
time to the problem's target rel_l2, the best and the final rel_l2 on the test set:

    problem      budget  target  KAN (k = 5)                      MLP (tanh, matched)
    poisson      60 s    1e-6    [2,10,1] G 5->10->20->40: 1410   [2,25,25,25,1]: 1401
    darcy        120 s   1e-5    "                                 "
    heat         120 s   1e-5    "                                 "
    allen_cahn   600 s   1e-3    [2,8,8,1] + periodic embedding,   [2,34,34,34,1] + embedding:
                                 G 5->10->20: 2592                 2551

Gauss-Newton: 100 steps (Allen-Cahn 400), grids at steps 20, 40, 80 (Allen-Cahn 100, 200);
``gauss_newton+varpro`` adds variable projection of the output layer (linear problems).
L-BFGS: steps of up to 20 iterations (strong Wolfe, history 10) until the budget ends, the
grids at the same steps.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from kanpde.bench.common import choices
from kanpde.models import KAN, MLP, Embedded, PeriodicEmbedding, ScaledModel, count_parameters
from kanpde.pde import Periodic, make_sampler
from kanpde.problems.allen_cahn import AllenCahn
from kanpde.problems.darcy import Darcy
from kanpde.problems.heat import Heat
from kanpde.problems.poisson import Poisson
from kanpde.train import TrainConfig, Trainer


@dataclass(frozen=True)
class Case:
    budget_s: float
    target: float
    n_interior: int
    gn_steps: int
    extend_at: tuple[int, ...]
    sizes: tuple[int, ...]
    kan_widths: tuple[int, ...]
    mlp_width: int
    periodic: bool = False


CASES = {
    "poisson": Case(60, 1e-6, 10000, 100, (20, 40, 80), (10, 20, 40), (2, 10, 1), 25),
    "darcy": Case(120, 1e-5, 10000, 100, (20, 40, 80), (10, 20, 40), (2, 10, 1), 25),
    "heat": Case(120, 1e-5, 4096, 100, (20, 40, 80), (10, 20, 40), (2, 10, 1), 25),
    "allen_cahn": Case(600, 1e-3, 4096, 400, (100, 200), (10, 20), (2, 8, 8, 1), 34, True),
}


def make_problem(name: str):

    return {"poisson": Poisson, "darcy": Darcy, "heat": Heat, "allen_cahn": AllenCahn}[name]()


def make_model(problem, case: Case, family: str, seed: int = 0):
    """The physical model: scaling to [-1, 1], the periodic embedding where the case has
    one, the KAN (quintic, G = 5) or the matched tanh MLP."""

    dim = problem.dim_in
    emb = None
    if case.periodic:
        axes = sorted({list(problem.names).index(c.axis) for c in problem.conditions
                       if isinstance(c, Periodic)})
        emb = PeriodicEmbedding(dim, axes)
        dim = emb.dim_out
    if family == "kan":
        net = KAN([dim, *case.kan_widths[1:]], grid_size=5, spline_order=5, seed=seed)
    else:
        w = case.mlp_width
        net = MLP([dim, w, w, w, 1], seed=seed)
    if emb is not None:
        net = Embedded(emb, net)
    return ScaledModel(net, problem.domain.lo, problem.domain.hi)


def train_config(case: Case, optimizer: str, quick: bool) -> dict:
    budget = 4.0 if quick else case.budget_s
    if optimizer.startswith("gauss_newton"):
        phase = {"optimizer": "gauss_newton", "steps": 12 if quick else case.gn_steps,
                 "varpro": optimizer.endswith("+varpro")}
    else:
        phase = {"optimizer": "lbfgs", "steps": 100_000, "max_iter": 20, "history_size": 10}
    scale = 0.1 if quick else 1.0
    return {
        "phases": [phase],
        "grid": {"extend_at": [max(1, int(s * scale)) for s in case.extend_at],
                 "sizes": list(case.sizes)},
        "n_interior": 500 if quick else case.n_interior,
        "n_boundary": 100 if quick else 800,
        "max_time_s": budget,
        "eval_every": 1 if optimizer == "lbfgs" else 2,
        "checkpoint_every": 10**9,
        "progress": False,
    }


def time_to(history: dict[str, np.ndarray], target: float) -> float:
    """Training time (s) of the first history row with rel_l2 <= target (nan if never)."""
    hit = np.nonzero(history["rel_l2"] <= target)[0]
    return float(history["time_s"][hit[0]]) if hit.size else math.nan


def run(problem_name: str, family: str, optimizer: str, quick: bool = False) -> dict:

    case = CASES[problem_name]
    problem = make_problem(problem_name)
    model = make_model(problem, case, family)
    cfg = TrainConfig.from_dict(train_config(case, optimizer, quick))
    weights = dict(cfg.loss_weights)
    if case.periodic:  # exact through the embedding
        for c in problem.conditions:
            if isinstance(c, Periodic):
                weights.setdefault(c.name, 0.0)
    cfg.loss_weights = weights
    t0 = time.perf_counter()
    result = Trainer(problem, model, make_sampler("sobol"), cfg, seed=0,
                     dtype=torch.float64).fit()
    hist = result.history
    return {
        "problem": problem_name, "model": family, "optimizer": optimizer,
        "params": count_parameters(model), "steps": result.steps,
        "train_s": result.train_time_s, "wall_s": time.perf_counter() - t0,
        "t_target": time_to(hist, case.target), "target": case.target,
        "best": float(np.nanmin(hist["rel_l2"])), "rel_l2": result.final["rel_l2"],
    }


OPTIMIZERS = ("gauss_newton", "gauss_newton+varpro", "lbfgs")
HEAD = (f"{'problem':11} {'model':5} {'optimizer':19} {'params':>6} {'steps':>6} "
        f"{'train_s':>8} {'target':>7} {'t_target':>8} {'best':>9} {'final':>9}")


def row(r: dict) -> str:
    return (f"{r['problem']:11} {r['model']:5} {r['optimizer']:19} {r['params']:6d} "
            f"{r['steps']:6d} {r['train_s']:8.1f} {r['target']:7.0e} {r['t_target']:8.1f} "
            f"{r['best']:9.2e} {r['rel_l2']:9.2e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kanpde.bench gauss_newton",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", default=",".join(CASES))
    parser.add_argument("--models", default="kan,mlp")
    parser.add_argument("--optimizers", default="gauss_newton,lbfgs")
    parser.add_argument("--quick", action="store_true", help="tiny budgets (seconds)")
    args = parser.parse_args(argv)
    problems = choices(parser, "--problems", args.problems, list(CASES))
    models = choices(parser, "--models", args.models, ("kan", "mlp"))
    optimizers = choices(parser, "--optimizers", args.optimizers, OPTIMIZERS)
    print(f"# Gauss-Newton vs L-BFGS, KAN vs MLP; float64, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; times are training times (s)")
    print(HEAD)
    for p in problems:
        for family in models:
            for opt in optimizers:
                print(row(run(p, family, opt, args.quick)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
