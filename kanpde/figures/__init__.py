"""Figures from one ``run.h5`` (see :mod:`kanpde.results`); never reruns a model.

    figures(run_h5_path, out_dir=None) -> list[Path]

writes, next to ``run.h5`` unless ``out_dir`` is given, whichever of these the file supports:

    loss.png      total loss and every ``loss_<term>`` vs step (log y); dotted lines mark
                  the steps where ``grid_size`` changes (KAN grid extension)
    error.png     rel_l2 (and rel_h1 when present) vs step and vs wall time (log y)
    coefficients.png  learned PDE coefficients (``coef_<name>``) vs step, true values dashed
    solution.png  prediction / reference / |error| on the evaluation grid ``eval/axes``:
                  1 coordinate  -> line plots;
                  2 coordinates -> maps; for space-time (a coordinate named "t") x is
                                   horizontal and t vertical (x-t maps);
                  3 coordinates -> maps over the two spatial coordinates at the first,
                                   middle and last time (or last coordinate)
    slices.png    space-time with one spatial coordinate: u_pred vs u_ref at a few times
    edges.png     the file has an ``edges`` group with x (M, in) and phi (M, in, out):
                  phi[:, i, j] vs x[:, i] for each edge (i, j) of the first KAN layer

What the file does not contain (no history rows, only NaN metrics of a diverged run, no
evaluation fields or grid) is skipped without a figure. Figures are drawn on matplotlib
``Figure`` objects with the Agg canvas: no pyplot, no display, no global backend change.

Command line: ``python -m kanpde.figures RUN.h5 [RUN.h5 ...] [-o OUT_DIR]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from kanpde.figures.edges import edges_figure
from kanpde.figures.fields import (
    grid_fields,
    map_orientation,
    plane,
    slices_figure,
    solution_figure,
)
from kanpde.figures.history import coefficients_figure, error_figure, loss_figure
from kanpde.figures.style import save_figure
from kanpde.results import RunRecord, read_run

__all__ = [
    "coefficients_figure",
    "edges_figure",
    "error_figure",
    "figures",
    "grid_fields",
    "loss_figure",
    "main",
    "map_orientation",
    "plane",
    "slices_figure",
    "solution_figure",
]

BUILDERS: tuple[tuple[str, Callable[[RunRecord], Figure | None]], ...] = (
    ("loss.png", loss_figure),
    ("error.png", error_figure),
    ("coefficients.png", coefficients_figure),
    ("solution.png", solution_figure),
    ("slices.png", slices_figure),
    ("edges.png", edges_figure),
)


def figures(run_h5_path: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Write every figure the run file supports; return the paths written (in order).

    Args:
        run_h5_path: a ``run.h5`` written by :func:`kanpde.results.write_run`.
        out_dir: destination directory (created when missing); default: the file's directory.

    Raises:
        FileNotFoundError / OSError / ValueError: from :func:`kanpde.results.read_run` when the
        file is missing, corrupt or not a run file.
    """
    path = Path(run_h5_path)
    record = read_run(path)
    out = Path(out_dir) if out_dir is not None else path.parent
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for filename, build in BUILDERS:
        fig = build(record)
        if fig is None:
            continue
        target = out / filename
        written.append(save_figure(fig, target))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kanpde.figures RUN.h5 [...] [-o OUT_DIR]``; prints the figures written."""
    parser = argparse.ArgumentParser(
        prog="python -m kanpde.figures", description="Figures from kanpde run.h5 files."
    )
    parser.add_argument("runs", nargs="+", type=Path, help="run.h5 files")
    parser.add_argument(
        "-o", "--out-dir", type=Path, default=None,
        help="output directory (only with a single run; default: next to each run.h5)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.out_dir is not None and len(args.runs) > 1:
        parser.error("--out-dir needs a single run file")
    status = 0
    for run in args.runs:
        try:
            written = figures(run, args.out_dir)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
            continue
        if not written:
            print(f"{run}: nothing to plot")
        for p in written:
            print(p)
    return status

