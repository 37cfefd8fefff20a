"""``kanpde-explain <run dir> [options]``: interpretability of a finished KAN run.

Writes next to ``run.h5``: ``explain_network.png``, ``explain_layer<l>.png``, ``formula.txt``,
``formula.tex`` (when a formula is composed), ``explain.json``, and the ``explain`` group in
``run.h5`` (see :mod:`kanpde.explain.pipeline`). Exit status: 0 done, 1 failure (unreadable
run, retraining diverged, ...), 2 bad input (no such directory, bad option value, not a KAN
run). Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from kanpde.app.explain_pipeline import ExplainOptions, explain_run
from kanpde.core.errors import ConfigError
from kanpde.explain.library import LIBRARY


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit status 2
        print(f"kanpde-explain: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kanpde-explain", description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path, help="a run directory holding run.h5 (KAN model)")
    p.add_argument("--prune", type=float, default=None, metavar="THETA",
                   help="prune edges with relative score < THETA in [0, 1) (default: no pruning)")
    p.add_argument("--retrain-steps", type=int, default=50,
                   help="L-BFGS steps of retraining after pruning (default 50)")
    p.add_argument("--no-symbolic", action="store_true", help="skip the symbolic fit")
    p.add_argument("--lock", default="all",
                   help="edges locked to formulas: all (default), none, or 'l.i.j[=fn],...'")
    p.add_argument("--functions", default=None,
                   help=f"comma-separated library subset (default all: {','.join(LIBRARY)})")
    p.add_argument("--complexity-weight", type=float, default=0.5,
                   help="ranking: score = log10(1 - R^2) + weight * complexity (default 0.5)")
    p.add_argument("--r2-floor", type=float, default=1e-6,
                   help="ranking: 1 - R^2 below this counts as a perfect fit (default 1e-6)")
    p.add_argument("--finetune-steps", type=int, default=50,
                   help="L-BFGS steps fine-tuning the locked formulas on the PDE loss")
    p.add_argument("--points", type=int, default=4000,
                   help="at most this many interior training points (default 4000)")
    p.add_argument("--snap-tol", type=float, default=1e-4,
                   help="relative tolerance for snapping constants to nice numbers")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--device", default=None, help="auto | cpu | cuda (default: the run's)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 failure, 2 bad input)."""

    args = _parser().parse_args(argv)
    if not args.run_dir.is_dir():
        print(f"kanpde-explain: error: run_dir {str(args.run_dir)!r} is not a directory",
              file=sys.stderr)
        return 2
    if not (args.run_dir / "run.h5").is_file():
        print(f"kanpde-explain: error: {str(args.run_dir)!r} holds no run.h5", file=sys.stderr)
        return 2
    options = ExplainOptions(
        prune=args.prune, retrain_steps=args.retrain_steps, symbolic=not args.no_symbolic,
        lock=args.lock,
        functions=None if args.functions is None else
        [f.strip() for f in args.functions.split(",") if f.strip()],
        complexity_weight=args.complexity_weight, r2_floor=args.r2_floor,
        finetune_steps=args.finetune_steps,
        n_points=args.points, snap_tol=args.snap_tol, figures=not args.no_figures,
        device=args.device,
    )
    try:
        options.validate()
    except ValueError as exc:
        print(f"kanpde-explain: error: {exc}", file=sys.stderr)
        return 2
    try:
        explain_run(args.run_dir, options)
    except (ValueError, ConfigError) as exc:
        print(f"kanpde-explain: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as exc:
        print(f"kanpde-explain: failed: {exc}", file=sys.stderr)
        return 1
    return 0


def console() -> None:
    """``kanpde-explain`` console script."""
    sys.exit(main())
