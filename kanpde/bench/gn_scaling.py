"""Cost of one training step against the parameter count P and the point count N.

    python -m kanpde.bench gn_scaling [--solvers auto,cholesky,kernel,pcg,cg,autograd,adam,lbfgs]
        [--p-sizes 6,11,19,35,62] [--n-sizes 1000,3000,10000,30000,100000] [--quick]
        [--device cpu|cuda] [--dtype float64|float32] [--max-step-s 60]

Model: a KAN [2, h, h, 1] (cubic B-splines, G = 20: P = 25 (h^2 + 3 h)) on the KAN-paper
Poisson problem (2-D), Sobol points; ``N`` interior points and ``N / 10`` boundary points,
so ``R = 1.1 N`` residual rows. Two sweeps, each case in a fresh process (its peak memory is
its own):

* against P: ``h`` in ``--p-sizes`` at ``N = 2000`` (P from about 10^3 to 10^5);
* against N: ``N`` in ``--n-sizes`` at ``h = 19`` (P = 10,450).

Per case: the median seconds per step over the steps after a warm-up step, and the process's
peak memory above what it held before the model was built (resident set on the CPU, the
allocator's peak on CUDA). Gauss-Newton rows are one Levenberg-Marquardt step (linearize,
one solve, line search; ``max_iter = 1`` so every step does the same work, where training
may retry a rejected step with more damping) with the named solver; ``auto`` is the
default choice and ``auto+sub2000`` the default with a fresh subset of 2000 residual points
per step; ``autograd`` is the default solver under the ``autograd`` derivative engine (no
layer tape: the explicit ``J`` by :mod:`torch.func`, one ``vmap`` over the points). The
iterative solvers run exactly ``--cg-iters`` CG iterations (tolerance 0) so their steps are
comparable. Adam: one step; L-BFGS: one step of one iteration (one closure with its line
search). A case whose predicted time or memory is out of bounds is skipped and says so.
Growth exponents are least-squares slopes of log(time) and log(memory) against log(P) or
log(N), over every measured size and over the sizes with P >= 10^4.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from kanpde.bench.common import DTYPES, choices
from kanpde.models import KAN, ScaledModel, count_parameters
from kanpde.pde import make_sampler
from kanpde.problems.poisson import Poisson
from kanpde.train import TrainConfig, Trainer

SOLVERS = ("auto", "auto+sub2000", "cholesky", "kernel", "pcg", "cg", "autograd", "adam",
           "lbfgs")
P_SIZES = (6, 11, 19, 35, 62)
N_SIZES = (1000, 3000, 10000, 30000, 100000)
N_FIXED, H_FIXED = 2000, 19
GRID, ORDER = 20, 3
GIB = 1024**3
FLOPS = 2e10  # rough sustained float64 rate (flop/s) for the skip predictions


def n_params(h: int) -> int:
    return (GRID + ORDER + 2) * (2 * h + h * h + h)


def predicted(solver: str, h: int, n: int, cg_iters: int) -> tuple[float, float]:
    """(seconds, bytes) a step should take by the cost model of
    kanpde.train.gauss_newton.solvers."""
    p, r = n_params(h), int(1.1 * n)
    if solver.endswith("sub2000"):
        r = min(r, 2200)
    nnz = r * (ORDER + 3) * (2 * h + h * h + h)
    if solver == "autograd":  # torch.func: about 30 passes' worth of the J it forms
        dense = predicted("auto", h, n, cg_iters)
        return dense[0] + 30 * r * p / FLOPS * 20, dense[1] + 8.0 * r * p
    if solver == "cholesky" or (solver.startswith("auto") and p <= 5000):
        return (r * p * p + p**3 / 3) / FLOPS, 8.0 * (r * p + p * p)
    if solver == "kernel" or (solver.startswith("auto") and r <= 5000):
        return (r * r * p + r**3 / 3) / FLOPS, 8.0 * (r * p + r * r)
    if solver == "pcg":
        return 2 * (cg_iters + 100) * nnz * 20 / FLOPS, 16.0 * nnz
    if solver in ("cg", "auto", "auto+sub2000"):
        return 2 * (cg_iters + 100) * nnz * 4 / FLOPS, 16.0 * nnz
    return 20 * nnz / FLOPS, 16.0 * nnz


def _peak_bytes(device: str) -> int:
    if device == "cuda":
        return int(torch.cuda.max_memory_allocated())
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_case(solver: str, h: int, n: int, steps: int, cg_iters: int, device: str,
             dtype: str) -> dict:
    """One case in this process: seconds per step and peak memory (module docstring)."""
    base = _peak_bytes(device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = 0
    problem = Poisson()
    model = ScaledModel(KAN([2, h, h, 1], grid_size=GRID, spline_order=ORDER, seed=0),
                        problem.domain.lo, problem.domain.hi)
    if solver in ("adam", "lbfgs"):
        phase = {"optimizer": solver, "steps": steps, "max_iter": 1}
    else:
        gn_solver, _, sub = solver.partition("+sub")
        phase = {"optimizer": "gauss_newton", "steps": steps,
                 "solver": "auto" if gn_solver == "autograd" else gn_solver,
                 "max_iter": 1,
                 "cg_max_iter": cg_iters, "cg_rtol": 1e-300, "memory_gb": 64.0,
                 "subsample": int(sub or 0)}
    cfg = TrainConfig.from_dict({
        "phases": [phase], "n_interior": n, "n_boundary": max(n // 10, 8), "eval_every": 1,
        "checkpoint_every": 10**9, "progress": False, "eval_batch": 65536,
        "grid": {"extend_at": [], "sizes": []},  # the case's grid, fixed
    })
    trainer = Trainer(problem, model, make_sampler("sobol"), cfg, seed=0, device=device,
                      dtype=DTYPES[dtype],
                      engine="autograd" if solver == "autograd" else "auto")
    result = trainer.fit()
    t = np.diff(result.history["time_s"])[1:]  # rows: step 0 (initial), then every step
    return {"solver": solver, "h": h, "n": n, "params": count_parameters(model),
            "s_per_step": float(np.median(t)) if t.size else math.nan,
            "peak_gib": (_peak_bytes(device) - base) / GIB, "status": result.status}


def _child(args: argparse.Namespace, solver: str, h: int, n: int) -> dict:
    cmd = [sys.executable, "-m", "kanpde.bench", "gn_scaling", "--case",
           json.dumps([solver, h, n]), "--steps", str(args.steps), "--cg-iters",
           str(args.cg_iters), "--device", args.device, "--dtype", args.dtype]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ),
                          timeout=max(120.0, 20 * args.max_step_s))
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"solver": solver, "h": h, "n": n, "params": n_params(h), "error": tail}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - t0
    return out


def fit_exponent(x: list[float], y: list[float]) -> float:
    """Least-squares slope of log y against log x (nan with fewer than two points)."""
    pts = [(math.log(a), math.log(b)) for a, b in zip(x, y, strict=True)
           if a > 0 and b > 0 and math.isfinite(b)]
    if len(pts) < 2:
        return math.nan
    lx, ly = np.array(pts).T
    return float(np.polyfit(lx, ly, 1)[0])


def _row(r: dict) -> str:
    head = f"{r['solver']:13} {r['params']:8d} {r['n']:7d}"
    if "skipped" in r:
        return f"{head}  skipped: {r['skipped']}"
    if "error" in r:
        return f"{head}  failed: {r['error']}"
    return f"{head} {r['s_per_step']:10.3f} {r['peak_gib']:9.3f}  {r['status']}"


def sweep(args, solvers, sizes, against: str) -> list[dict]:
    rows = []
    print(f"\n# against {against}: " + (f"N = {N_FIXED}" if against == "P" else
                                       f"h = {H_FIXED} (P = {n_params(H_FIXED)})"))
    print(f"{'solver':13} {'P':>8} {'N':>7} {'s/step':>10} {'peak GiB':>9}  status")
    for solver in solvers:
        for size in sizes:
            h, n = (size, N_FIXED) if against == "P" else (H_FIXED, size)
            secs, mem = predicted(solver, h, n, args.cg_iters)
            if secs > args.max_step_s or mem > args.max_gib * GIB:
                r = {"solver": solver, "h": h, "n": n, "params": n_params(h),
                     "skipped": f"predicted {secs:.0f} s per step, {mem / GIB:.1f} GiB"}
            else:
                r = _child(args, solver, h, n)
            rows.append(r)
            print(_row(r), flush=True)
    return rows


def exponents(rows: list[dict], against: str, solvers) -> None:
    key = "params" if against == "P" else "n"
    print(f"\n# fitted growth exponents against {against}: time (all sizes | P >= 1e4), memory")
    for solver in solvers:
        ok = [r for r in rows if r["solver"] == solver and "s_per_step" in r]
        big = [r for r in ok if r["params"] >= 10_000]
        t_all = fit_exponent([r[key] for r in ok], [r["s_per_step"] for r in ok])
        t_big = fit_exponent([r[key] for r in big], [r["s_per_step"] for r in big])
        m_all = fit_exponent([r[key] for r in ok], [r["peak_gib"] for r in ok])
        print(f"{solver:13} time {t_all:6.2f} | {t_big:6.2f}   memory {m_all:6.2f}   "
              f"({len(ok)} sizes)")


def largest_fit(memory_gib: float = 8.0) -> None:
    """The largest [2, h, h, 1] whose default solve fits ``memory_gib`` (the cost model)."""
    print(f"\n# largest KAN [2,h,h,1] G={GRID} whose auto solver's matrices fit {memory_gib:g} "
          "GiB (kanpde.train.gauss_newton.solvers cost model)")
    for n in (2000, 10000):
        h = H_FIXED
        while predicted("auto", h + 1, n, 0)[1] <= memory_gib * GIB and h < 2000:
            h += 1
        print(f"N = {n:6d}: h = {h}, P = {n_params(h)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kanpde.bench gn_scaling",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    parser.add_argument("--p-sizes", default=",".join(map(str, P_SIZES)))
    parser.add_argument("--n-sizes", default=",".join(map(str, N_SIZES)))
    parser.add_argument("--steps", type=int, default=4, help="steps per case (first: warm-up)")
    parser.add_argument("--cg-iters", type=int, default=50)
    parser.add_argument("--max-step-s", type=float, default=60.0,
                        help="skip cases predicted slower than this per step")
    parser.add_argument("--max-gib", type=float, default=16.0,
                        help="skip cases predicted to need more memory")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--dtype", default="float64", choices=tuple(DTYPES))
    parser.add_argument("--sweeps", default="P,N", help="which sweeps: P, N or both")
    parser.add_argument("--quick", action="store_true", help="two small sizes per sweep")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        solver, h, n = json.loads(args.case)
        print(json.dumps(run_case(solver, h, n, args.steps, args.cg_iters, args.device,
                                  args.dtype)))
        return 0
    solvers = choices(parser, "--solvers", args.solvers, SOLVERS)
    p_sizes = [int(v) for v in args.p_sizes.split(",")]
    n_sizes = [int(v) for v in args.n_sizes.split(",")]
    if args.quick:
        p_sizes, n_sizes, args.steps = p_sizes[:2], [500, 1000], 3
    print(f"# seconds per training step and peak memory; KAN [2,h,h,1] G={GRID} k={ORDER} on "
          f"Poisson; {args.dtype} on {args.device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; CG solvers {args.cg_iters} iterations")
    which = choices(parser, "--sweeps", args.sweeps, ("P", "N"))
    if "P" in which:
        exponents(sweep(args, solvers, p_sizes, "P"), "P", solvers)
    if "N" in which:
        exponents(sweep(args, solvers, n_sizes, "N"), "N", solvers)
    largest_fit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
