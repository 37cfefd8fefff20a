"""``kanpde-report``: tables and figures of many runs (a sweep, a study, several sweeps).

    kanpde-report <dir or run.h5> [...] [-o <study dir>] [--metric rel_l2] [--no-figures]

reads every ``run.h5`` under the given paths (recursively; :mod:`kanpde.report.runs`),
groups the runs across seeds (same resolved config but for the seed and bookkeeping keys,
same device kind), and writes into the study directory (default ``./report``):

    summary.csv   one row per group: problem, variant, model, widths, grid (KAN grid sizes
                  in order of use), params (trained count, after the last grid extension),
                  params_init, params_ratio_kan (params / those of the KAN trained with the
                  same non-model settings), setting (other config differences), device,
                  runs, completed, seeds, then mean / std / min / max over the completed
                  runs of rel_l2, mse, max_abs, rel_h1, wall_time_s, train_time_s, steps
                  (std: sample standard deviation, ddof = 1; empty below two runs)
    runs.csv      one row per readable run (its group's row number in summary.csv)
    report.md     the table, the figures, the flagged runs (unreadable file, or status not
                  "completed": listed with the reason, kept out of the statistics) and the
                  missing runs of Hydra sweeps (:mod:`kanpde.report.sweeps`)
    *.png         :mod:`kanpde.report.figures`

Exit status: 0 when at least one run was read (flagged and missing runs do not change it),
1 when there is nothing to report (no readable run.h5), 2 on a usage error (a path that
does not exist).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kanpde.core.atomic import write_text
from kanpde.report.figures import study_figures
from kanpde.report.groups import Group, group_runs
from kanpde.report.runs import METRICS, BadRun, RunSummary, find_run_files, load_runs
from kanpde.report.search import is_search, report_search
from kanpde.report.sweeps import MissingRun, find_missing
from kanpde.report.tables import (
    markdown_table,
    md_cell,
    rel_path,
    run_columns,
    run_rows,
    summary_columns,
    summary_rows,
    write_csv,
)

__all__ = ["Report", "build_report", "main", "summary_rows", "write_report"]

@dataclass
class Report:
    """Everything a study report is made of (before it is written)."""

    inputs: list[Path]
    groups: list[Group]
    runs: list[RunSummary]
    unreadable: list[BadRun]
    missing: list[MissingRun]
    metric: str = "rel_l2"
    files: list[Path] = field(default_factory=list)
    figure_errors: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[BadRun]:
        """Unreadable files and runs whose status is not ``completed``, with the reason."""
        out = list(self.unreadable)
        for r in self.runs:
            if not r.completed:
                why = f"status {r.status!r}" + (f": {r.message}" if r.message else "")
                out.append(BadRun(r.path, why, r.status))
        return sorted(out, key=lambda b: str(b.path))


def build_report(paths: Sequence[str | os.PathLike[str]], metric: str = "rel_l2") -> Report:
    """Find, read and group the runs under ``paths``, and find the missing ones.

    Raises:
        FileNotFoundError: when a path does not exist.
        ValueError: when ``metric`` is not one of :data:`kanpde.report.runs.METRICS`.
    """
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r} is not one of {list(METRICS)}")
    inputs = [Path(p) for p in paths]
    files = find_run_files(inputs)
    runs, unreadable = load_runs(files)
    return Report(
        inputs=inputs,
        groups=group_runs(runs),
        runs=runs,
        unreadable=unreadable,
        missing=find_missing(inputs),
        metric=metric,
    )


def _relative_paths(text: str, path: Path, base: Path) -> str:
    """``text`` (an error message) with the absolute form of ``path`` written relative."""
    full = str(Path(path).resolve())
    return text.replace(full, rel_path(Path(full), base)) if full in text else text


def markdown_report(report: Report, out_dir: Path, figures: Sequence[Path]) -> str:
    """The text of ``report.md``."""
    base = out_dir.resolve()
    n_ok = sum(r.completed for r in report.runs)
    flagged = report.flagged
    lines = [
        "# kanpde study report",
        "",
        f"Generated {_dt.datetime.now().isoformat(timespec='seconds')} by `kanpde-report` from "
        + ", ".join(f"`{rel_path(p, base)}`" for p in report.inputs)
        + ".",
        "",
        f"- run files read: {len(report.runs)} ({n_ok} completed); "
        f"flagged: {len(flagged)}; missing: {len(report.missing)}",
        f"- groups (configurations across seeds): {len(report.groups)}",
        "",
        "## Results",
        "",
        markdown_table(report.groups, report.metric),
        "",
        "Statistics over the completed runs of each group (std: sample standard deviation "
        "over seeds). `params`: trainable parameters of the trained model (for a KAN after "
        "its last grid extension); `params / KAN`: ratio to the KAN trained with the same "
        "non-model settings; `G`: KAN grid sizes in order of use. Full precision in "
        "`summary.csv` (per group) and `runs.csv` (per run).",
    ]
    if figures:
        lines += ["", "## Figures", ""]
        for f in figures:
            lines += [f"![{f.stem}]({rel_path(f, base)})", ""]
    if report.figure_errors:
        lines += ["", "Figures that failed:", ""]
        lines += [f"- {md_cell(e)}" for e in report.figure_errors]
    lines += ["", "## Flagged runs", ""]
    if flagged:
        lines += ["Not in the statistics above:", "", "| run | status | reason |", "|---|---|---|"]
        lines += [
            f"| `{rel_path(b.path, base)}` | {b.status} | "
            f"{md_cell(_relative_paths(b.reason, b.path, base))} |"
            for b in flagged
        ]
    else:
        lines.append("None: every run file was readable and completed.")
    lines += ["", "## Missing runs", ""]
    if report.missing:
        lines += ["| directory | overrides | reason |", "|---|---|---|"]
        lines += [
            f"| `{rel_path(m.directory, base)}` | {md_cell(' '.join(m.overrides)) or '—'} | "
            f"{md_cell(_relative_paths(m.reason, m.directory, base))} |"
            for m in report.missing
        ]
    else:
        lines.append("None found (no Hydra job without run.h5, no unstarted sweep job).")
    return "\n".join(lines) + "\n"


def write_report(
    report: Report, out_dir: str | os.PathLike[str], figures: bool = True
) -> list[Path]:
    """Write summary.csv, runs.csv, the figures and report.md into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    write_csv(out / "summary.csv", summary_rows(report.groups), summary_columns())
    rows = run_rows(report.groups, out)
    write_csv(out / "runs.csv", rows, run_columns(rows))
    written += [out / "summary.csv", out / "runs.csv"]
    figs: list[Path] = []
    if figures:

        def on_error(name: str, exc: Exception) -> None:
            report.figure_errors.append(f"{name}: {type(exc).__name__}: {exc}")
            print(f"kanpde-report: warning: figure {name} failed: {exc}", file=sys.stderr)

        figs = study_figures(report.groups, out, report.metric, on_error=on_error)
    write_text(out / "report.md", markdown_report(report, out, figs))
    written += figs + [out / "report.md"]
    report.files = written
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``kanpde-report``; returns the exit status (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="kanpde-report",
        description="Tables and figures from every run.h5 under the given directories.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="sweep/run directories or run.h5 files")
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        default=Path("report"),
        help="study directory to write (default: ./report)",
    )
    parser.add_argument(
        "--metric",
        default="rel_l2",
        choices=METRICS,
        help="error metric of the table and figures (default: rel_l2)",
    )
    parser.add_argument("--no-figures", action="store_true", help="write the tables only")
    args = parser.parse_args(argv)

    if len(args.paths) == 1 and is_search(args.paths[0]):  # a kanpde-tune search folder
        try:
            files = report_search(args.paths[0], args.out, figures=not args.no_figures)
        except FileNotFoundError as exc:
            print(f"kanpde-report: {exc}", file=sys.stderr)
            return 2
        for f in files:
            print(f)
        return 0
    try:
        report = build_report(args.paths, metric=args.metric)
    except FileNotFoundError as exc:
        print(f"kanpde-report: {exc}", file=sys.stderr)
        return 2
    where = ", ".join(str(p) for p in args.paths)
    if not report.runs:
        print(
            f"kanpde-report: nothing to report: no readable run.h5 under {where}", file=sys.stderr
        )
        for b in report.unreadable:
            print(f"  unreadable: {b.path}: {b.reason}", file=sys.stderr)
        if report.missing:
            print(
                f"  {len(report.missing)} run(s) of a sweep are missing (not finished or "
                "not started)",
                file=sys.stderr,
            )
        return 1
    write_report(report, args.out, figures=not args.no_figures)
    print(markdown_table(report.groups, report.metric))
    n_ok = sum(r.completed for r in report.runs)
    print(
        f"\n{len(report.runs)} run(s) read ({n_ok} completed) in {len(report.groups)} group(s); "
        f"{len(report.flagged)} flagged, {len(report.missing)} missing -> {args.out / 'report.md'}"
    )
    for b in report.flagged:
        print(f"  flagged: {b.path}: {b.reason}")
    for m in report.missing:
        print(f"  missing: {m.directory}: {m.reason}")
    return 0

