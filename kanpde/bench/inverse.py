"""Inverse problems: PDE coefficients recovered from noisy observations.

    python -m kanpde.bench inverse [--cases heat,allen_cahn,darcy] [--models kan,mlp]
        [--points 200] [--noise 0.01] [--seeds 0] [--quick]

Per case the problem's coefficient is learned (in log space, with the network) from an
initial guess far from the truth; the observations are ``--points`` distinct points of the
problem's reference (its test grid) with Gaussian noise of ``--noise`` times their RMS, added
to the PINN loss as the term ``data`` (weight 1). Float64 on the CPU, Gauss-Newton (the
default schedule: KAN grids 5 -> 10 -> 20 -> 40 at 20 / 40 / 80 % of the steps, Allen-Cahn
5 -> 10 -> 20), 4096 interior and 800 boundary Sobol points.

    case        problem                                  coefficient    true  initial
    heat        u_t = D u_xx + f (1d)                    diffusion D    1.0   0.5
    allen_cahn  u_t = D u_xx - r (u^3 - u) (Dirichlet)   reaction r     5.0   2.5
    darcy       -k lap u = f (constant permeability)     permeability k 2.0   1.0

It prints, per run, the recovered value, its relative error, the solution's rel_l2 on the
test grid and the training time; the KAN is [dim_in, 10, 1] (Allen-Cahn [2, 8, 8, 1]), the
MLP the tanh network of matched final size.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import torch

from kanpde.bench.common import choices
from kanpde.models import KAN, MLP, ScaledModel, count_parameters
from kanpde.pde import make_sampler
from kanpde.pde.observations import generate_observations
from kanpde.problems.allen_cahn import AllenCahn
from kanpde.problems.darcy import Darcy
from kanpde.problems.heat import Heat
from kanpde.train import TrainConfig, Trainer


@dataclass(frozen=True)
class Case:
    make: object
    coefficient: str
    initial: float
    steps: int
    kan_widths: tuple[int, ...]
    mlp_width: int
    sizes: tuple[int, ...] = (10, 20, 40)  # KAN grids, at 20 / 40 / 80 % of the steps


CASES = {
    "heat": Case(lambda: Heat(), "diffusion", 0.5, 100, (2, 10, 1), 25),
    "allen_cahn": Case(lambda: AllenCahn(variant="dirichlet"), "reaction", 2.5, 200,
                       (2, 8, 8, 1), 34, (10, 20)),
    "darcy": Case(lambda: Darcy(variant="constant"), "permeability", 1.0, 100, (2, 10, 1), 25),
}


def run(name: str, family: str, points: int, noise: float, seed: int, quick: bool) -> dict:
    case = CASES[name]
    problem = case.make()
    problem.add_observations(generate_observations(problem, points, noise, seed))
    problem.learn({case.coefficient: case.initial})
    if family == "kan":
        net = KAN(list(case.kan_widths), grid_size=5, spline_order=5, seed=seed)
    else:
        w = case.mlp_width
        net = MLP([2, w, w, w, 1], seed=seed)
    model = ScaledModel(net, problem.domain.lo, problem.domain.hi)
    steps = 12 if quick else case.steps
    cfg = TrainConfig.from_dict({
        "phases": [{"optimizer": "gauss_newton", "steps": steps}],
        "grid": {"extend_at": [max(1, int(steps * f)) for f in (0.2, 0.4, 0.8)
                               ][: len(case.sizes)], "sizes": list(case.sizes)},
        "n_interior": 500 if quick else 4096, "n_boundary": 100 if quick else 800,
        "eval_every": 10, "checkpoint_every": 10**9, "progress": False,
    })
    t0 = time.perf_counter()
    result = Trainer(problem, model, make_sampler("sobol"), cfg, seed=seed,
                     dtype=torch.float64).fit()
    true = problem.true_coefficients()[case.coefficient]
    got = result.coefficients[case.coefficient]
    return {"case": name, "model": family, "coef": case.coefficient, "true": true,
            "initial": case.initial, "got": got, "err": abs(got - true) / true,
            "rel_l2": result.final["rel_l2"], "params": count_parameters(model),
            "train_s": result.train_time_s, "wall_s": time.perf_counter() - t0, "seed": seed}


HEAD = (f"{'case':11} {'model':5} {'seed':>4} {'coefficient':13} {'true':>6} {'initial':>7} "
        f"{'recovered':>10} {'rel_err':>9} {'rel_l2':>9} {'params':>6} {'train_s':>8}")


def row(r: dict) -> str:
    return (f"{r['case']:11} {r['model']:5} {r['seed']:4d} {r['coef']:13} {r['true']:6.3g} "
            f"{r['initial']:7.3g} {r['got']:10.6f} {r['err']:9.2e} {r['rel_l2']:9.2e} "
            f"{r['params']:6d} {r['train_s']:8.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kanpde.bench inverse", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--models", default="kan")
    parser.add_argument("--points", type=int, default=200, help="observations per case")
    parser.add_argument("--noise", type=float, default=0.01, help="noise std / RMS of u")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (data and model)")
    parser.add_argument("--quick", action="store_true", help="a few steps (seconds)")
    args = parser.parse_args(argv)
    cases = choices(parser, "--cases", args.cases, list(CASES))
    models = choices(parser, "--models", args.models, ("kan", "mlp"))
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds: expected comma-separated integers, got {args.seeds!r}")
    if args.points < 1 or not args.noise >= 0:
        parser.error("--points must be >= 1 and --noise >= 0")
    print(f"# inverse problems: {args.points} observations, noise {args.noise:g} x RMS; "
          f"float64, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(HEAD)
    for c in cases:
        for m in models:
            for s in seeds:
                print(row(run(c, m, args.points, args.noise, s, args.quick)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
