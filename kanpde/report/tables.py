"""The tables of a study report: ``summary.csv``, ``runs.csv`` and the Markdown table."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kanpde.core.atomic import atomic_path
from kanpde.report.groups import Group
from kanpde.report.runs import METRICS

_ATTR_STATS = ("wall_time_s", "train_time_s", "steps")
_STAT_NAMES = ("mean", "std", "min", "max")


def summary_rows(groups: Sequence[Group]) -> list[dict[str, Any]]:
    """One dict per group with the columns of ``summary.csv`` (floats; NaN when undefined)."""
    rows = []
    for g in groups:
        r = g.first
        row: dict[str, Any] = {
            "problem": r.problem,
            "variant": r.variant,
            "model": r.model,
            "widths": g.widths_label,
            "grid": g.grid_label,
            "params": g.n_params,
            "params_init": r.n_params_init,
            "params_ratio_kan": g.kan_ratio,
            "setting": g.setting,
            "device": r.device_kind,
            "runs": len(g.runs),
            "completed": len(g.completed),
            "seeds": " ".join(str(s) for s in g.seeds),
        }
        for name in METRICS:
            st = g.metric(name)
            for s in _STAT_NAMES:
                row[f"{name}_{s}"] = st[s]
        for name in _ATTR_STATS:
            st = g.attr(name)
            for s in _STAT_NAMES:
                row[f"{name}_{s}"] = st[s]
        rows.append(row)
    return rows


def _csv_value(v: Any) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return str(v)


def write_csv(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for row in rows:
            w.writerow([_csv_value(row.get(c, "")) for c in columns])


def summary_columns() -> list[str]:
    cols = [
        "problem",
        "variant",
        "model",
        "widths",
        "grid",
        "params",
        "params_init",
        "params_ratio_kan",
        "setting",
        "device",
        "runs",
        "completed",
        "seeds",
    ]
    for name in (*METRICS, *_ATTR_STATS):
        cols += [f"{name}_{s}" for s in _STAT_NAMES]
    return cols


RUN_COLUMNS = [
    "path",
    "group",
    "problem",
    "variant",
    "model",
    "widths",
    "grid",
    "params",
    "params_init",
    "seed",
    "status",
    *METRICS,
    "wall_time_s",
    "train_time_s",
    "steps",
    "device",
    "dtype",
]


def run_rows(groups: Sequence[Group], base: Path | None = None) -> list[dict[str, Any]]:
    """One dict per run (``runs.csv``); ``group`` is the 1-based row in ``summary.csv``;
    ``path`` relative to ``base`` (the study directory) when given."""
    rows = []
    for i, g in enumerate(groups, start=1):
        for r in g.runs:
            row = {
                "path": str(r.path) if base is None else rel_path(r.path, base),
                "group": i,
                "problem": r.problem,
                "variant": r.variant,
                "model": r.model,
                "widths": g.widths_label,
                "grid": g.grid_label,
                "params": r.n_params,
                "params_init": r.n_params_init,
                "seed": "" if r.seed is None else r.seed,
                "status": r.status,
                "wall_time_s": r.wall_time_s,
                "train_time_s": r.train_time_s,
                "steps": r.steps,
                "device": r.device,
                "dtype": r.dtype,
            }
            for name in METRICS:
                row[name] = r.metrics.get(name, math.nan)
            row.update({k: v for k, v in r.metrics.items() if k.startswith("coef_")})
            rows.append(row)
    return rows


def run_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """:data:`RUN_COLUMNS`, then the learned-coefficient columns (``coef_<name>``,
    ``coef_<name>_rel_error``) any run has, sorted."""
    extra = sorted({k for row in rows for k in row if k.startswith("coef_")})
    return [*RUN_COLUMNS, *extra]


def _sci(v: float) -> str:
    return "—" if not math.isfinite(v) else f"{v:.2e}"


def _pm(st: dict[str, float], fmt=_sci) -> str:
    if not math.isfinite(st["mean"]):
        return "—"
    if not math.isfinite(st["std"]):
        return fmt(st["mean"])
    return f"{fmt(st['mean'])} ± {fmt(st['std'])}"


def _sec(v: float) -> str:
    return "—" if not math.isfinite(v) else f"{v:.0f}" if v >= 10 else f"{v:.1f}"


def _steps(st: dict[str, float]) -> str:
    if not math.isfinite(st["mean"]):
        return "—"
    if st["min"] == st["max"]:
        return f"{st['min']:.0f}"
    return f"{st['min']:.0f}-{st['max']:.0f}"


def md_cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def rel_path(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` (as given when on another drive)."""
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive (Windows)
        return str(path)


def markdown_table(groups: Sequence[Group], metric: str = "rel_l2") -> str:
    """The results table in Markdown (one row per group, see the module docstring)."""
    with_setting = any(g.setting for g in groups)
    with_ratio = any(math.isfinite(g.kan_ratio) for g in groups)
    head = ["problem", "model", "widths", "G", "params"]
    head += ["params / KAN"] if with_ratio else []
    head += ["setting"] if with_setting else []
    head += ["seeds ok/all", f"{metric} mean ± std", "mse mean ± std", "wall time [s]", "steps"]
    if metric == "mse":
        head[head.index("mse mean ± std")] = "rel_l2 mean ± std"
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    other = "rel_l2" if metric == "mse" else "mse"
    for g in groups:
        r = g.first
        cells = [g.problem_label, r.model, g.widths_label, g.grid_label or "—", str(g.n_params)]
        if with_ratio:
            cells.append("—" if not math.isfinite(g.kan_ratio) else f"{g.kan_ratio:.3f}")
        if with_setting:
            cells.append(g.setting or "—")
        wall = g.attr("wall_time_s")
        cells += [
            f"{len(g.completed)}/{len(g.runs)}",
            _pm(g.metric(metric)),
            _pm(g.metric(other)),
            _pm(wall, _sec),
            _steps(g.attr("steps")),
        ]
        lines.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
    return "\n".join(lines)
