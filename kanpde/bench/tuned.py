"""Tuned against tuned: every model family searched with the same trial budget at matched
parameter counts on the compare study's problems, then its best setting retrained on fresh
seeds, beside the untuned compare study.

    python -m kanpde.bench tuned [--problems poisson,darcy,heat,allen_cahn]
        [--families kan,mlp,siren,fourier_mlp] [--trials 20] [--seeds 1,2]
        [--out results/tuned] [--compare results/compare/summary.csv] [--quick]
        [--table-only]

For each problem and family: ``kanpde-tune search=compare_<family>
experiment/compare_case=<problem> search.trials=<trials> search.dir=<out>/<problem>-<family>``
(the compare study's setting: the same Gauss-Newton budget, the baseline widths matched to
the case's KAN; a search already complete is reused, an interrupted one continued), then the
best trial's config retrained with each of ``--seeds`` (the search ran seed 0; choosing the
best of N trials on one seed favours that seed, so the table reports the mean of the fresh
seeds, and the best search value beside it). ``<out>/table.md`` is the table, next to the
untuned study's mean rel_l2 (``--compare``, the summary.csv of ``results/compare``).
``--quick`` runs the smoke schedule (seconds per trial; for trying the command);
``--table-only`` runs nothing and tables what the search folders hold (every completed
``best-s<seed>`` retrain; a search short of its trials is marked partial), so problems
searched by separate processes end in one table.
"""

from __future__ import annotations

import argparse
import copy
import csv
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from kanpde.app.assemble import build
from kanpde.app.solve import solve
from kanpde.app.tune.study import finished
from kanpde.bench.common import choices
from kanpde.core.atomic import write_text
from kanpde.report.search import load
from kanpde.results import read_run

PROBLEMS = ("poisson", "darcy", "heat", "allen_cahn")
FAMILIES = ("kan", "mlp", "siren", "fourier_mlp")
#: the compare study's names (summary.csv: problem, model)
SUMMARY_NAMES = {"poisson": "Poisson", "darcy": "Darcy", "heat": "Heat",
                 "allen_cahn": "AllenCahn", "kan": "KAN", "mlp": "MLP", "siren": "SIREN",
                 "fourier_mlp": "FourierMLP"}


def search(problem: str, family: str, trials: int, folder: Path, quick: bool) -> int:
    cmd = [sys.executable, "-c", "from kanpde.app.tune.cli import console; console()",
           f"search=compare_{family}", f"experiment/compare_case={problem}",
           f"search.trials={trials}", f"search.dir={folder}"]
    if quick:
        cmd.append("train=smoke")
    print(f"  {problem} / {family}: {' '.join(cmd[3:])}", flush=True)
    return subprocess.run(cmd, check=False).returncode


def _best_config(folder: Path) -> tuple[float, dict]:
    study, _ = load(folder)
    best = study.best_trial
    cfg = yaml.safe_load(read_run(folder / best.user_attrs["run_dir"] / "run.h5").config)
    return float(best.value), cfg


def _seed_error(h5: Path) -> float | None:
    """The rel_l2 of a completed retrain run (NaN when it did not complete; None: no run)."""
    if not h5.is_file():
        return None
    run = read_run(h5)
    return run.final.get("rel_l2", math.nan) if run.attrs.get("status") == "completed" else math.nan


def retrain(folder: Path, seeds: list[int]) -> tuple[float, list[float]]:
    """The best trial's value and its config's rel_l2 on each of ``seeds`` (reused when done)."""
    best, cfg = _best_config(folder)
    errors = []
    for seed in seeds:
        run_dir = folder / f"best-s{seed}"
        err = _seed_error(run_dir / "run.h5")
        if err is None or math.isnan(err):
            c = copy.deepcopy(cfg)
            c["seed"] = seed
            solve(build(copy.deepcopy(c)), run_dir, yaml.safe_dump(c, sort_keys=False))
            err = _seed_error(run_dir / "run.h5")
        errors.append(math.nan if err is None else err)
    return best, errors


def progress(folder: Path) -> tuple[int, int]:
    """``(finished trials, requested trials)`` of a search folder (``(0, 0)``: none)."""
    if not (folder / "study.db").is_file():
        return 0, 0
    study, meta = load(folder)
    return finished(study), int(meta.get("trials") or 0)


def existing(folder: Path) -> tuple[float, list[float]] | None:
    """What a search folder holds without running anything: the best value and the rel_l2 of
    every completed retrain run (``best-s<seed>``); None when it holds no completed trial."""
    if not (folder / "study.db").is_file():
        return None
    try:
        best, _ = _best_config(folder)
    except (FileNotFoundError, ValueError):
        return None
    errs = [e for d in sorted(folder.glob("best-s*"))
            if (e := _seed_error(d / "run.h5")) is not None]
    return best, errs


def untuned(path: Path) -> dict[tuple[str, str], float]:
    """``(problem, model) -> mean rel_l2`` of the untuned compare study (empty if absent)."""
    if not path.is_file():
        return {}
    with path.open() as f:
        return {(r["problem"], r["model"]): float(r["rel_l2_mean"]) for r in csv.DictReader(f)}


def table(rows: dict[tuple[str, str], tuple[float, list[float]]], base: dict,
          counts: dict[tuple[str, str], tuple[int, int]], families: list[str],
          problems: list[str]) -> str:
    head = ["problem"] + [f"{SUMMARY_NAMES[f]} tuned (best trial) / untuned" for f in families]
    lines = ["Tuned: mean rel_l2 of the best setting of each search retrained on fresh seeds "
             "(in brackets: the best trial's own value, seed 0; [n] the trials the search "
             "finished, complete or pruned). Untuned: the compare study's "
             "mean over seeds 0, 1, 2.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in problems:
        cells = [SUMMARY_NAMES[p]]
        for f in families:
            done, asked = counts.get((p, f), (0, 0))
            if (p, f) not in rows:
                cells.append(f"not run ({done} of {asked} trials)" if asked else "not run")
                continue
            best, errs = rows[(p, f)]
            mean = float(np.nanmean(errs)) if np.isfinite(errs).any() else math.nan
            old = base.get((SUMMARY_NAMES[p], SUMMARY_NAMES[f]), math.nan)
            tag = f"[{done}]" if done >= asked else f"[partial: {done} of {asked}]"
            mean_s = f"{mean:.2e}" if errs else "not retrained"
            cells.append(f"{mean_s} ({best:.2e}) {tag} / {old:.2e}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kanpde.bench tuned", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    ap.add_argument("--out", type=Path, default=Path("results/tuned"))
    ap.add_argument("--compare", type=Path, default=Path("results/compare/summary.csv"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--table-only", action="store_true",
                    help="run nothing: table what the search folders hold (partial searches "
                         "marked)")
    args = ap.parse_args(argv)
    args.problems = choices(ap, "--problems", args.problems, PROBLEMS)
    args.families = choices(ap, "--families", args.families, FAMILIES)
    if args.trials < 1:
        ap.error("--trials must be >= 1")
    for p in args.problems if not args.table_only else ():
        for f in args.families:
            folder = args.out / f"{p}-{f}"
            code = search(p, f, args.trials, folder, args.quick)
            if code != 0:
                print(f"  {p} / {f}: search ended with status {code}; rerun to continue",
                      file=sys.stderr)
                continue
            best, errs = retrain(folder, args.seeds)
            print(f"  {p} / {f}: best trial {best:.3e}, retrained "
                  f"{', '.join(f'{e:.3e}' for e in errs)}", flush=True)
    rows, counts = {}, {}
    for p in args.problems:
        for f in args.families:
            folder = args.out / f"{p}-{f}"
            counts[(p, f)] = progress(folder)
            found = existing(folder)
            if found is not None:
                rows[(p, f)] = found
    text = table(rows, untuned(args.compare), counts, args.families, args.problems)
    write_text(args.out / "table.md", text)
    print(text)
    return 0
