"""Figures of a study (many runs), drawn from run summaries and ``run.h5`` files only.

    error_vs_params.png    final rel_l2 against the trained parameter count N, log-log, one
                           panel per problem; a marker per group at the seed mean, bars from
                           the best to the worst seed; groups of one series (a model class
                           and depth, for KANs the widths and whether the grid is extended)
                           joined by lines; the spline scaling law rel_l2 ~ N^-(k+1)
                           (N^-4 for cubic splines, k = 3; N^-8 for mse) drawn through
                           the KAN with the fewest parameters
    error_vs_time.png      final rel_l2 against wall time, every run a point
    curves_<problem>.png   loss and rel_l2 against step, every run a line, one colour per
                           group
    best_<problem>_<model>.png
                           prediction / reference / |error| maps of the best completed run
                           (lowest rel_l2) of each model class (kanpde.figures.solution_figure)

Matplotlib ``Figure`` objects with the Agg canvas: no pyplot, no display.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from kanpde.figures import solution_figure
from kanpde.figures.style import MARKERS, new_figure, save_figure
from kanpde.report.groups import Group
from kanpde.report.runs import RunSummary
from kanpde.results import read_run

__all__ = [
    "best_runs",
    "curves_figure",
    "error_vs_params_figure",
    "error_vs_time_figure",
    "series_key",
    "slug",
    "study_figures",
]




def slug(text: str) -> str:
    """A file-name-safe lower-case version of ``text``: ``"Poisson (kan_paper)"`` ->
    ``"poisson_kan_paper"``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "x"


def series_key(group: Group) -> str:
    """The line a group belongs to in error-vs-parameters plots.

    KAN: widths and whether the grid is extended (points along the line differ in G);
    other models: the class and the depth (points differ in width).
    """
    r = group.first
    if r.model == "KAN":
        label = f"KAN {group.widths_label} " + ("G extended" if group.extends_grid else "fixed G")
    else:
        label = f"{r.model} depth {max(len(r.widths) - 2, 0)}"
    return f"{label} ({group.setting})" if group.setting else label


def _by_problem(groups: Sequence[Group]) -> dict[str, list[Group]]:
    out: dict[str, list[Group]] = {}
    for g in groups:
        out.setdefault(g.problem_label, []).append(g)
    return out


def _panels(n: int, width: float = 5.2, height: float = 4.2) -> tuple[Figure, list]:
    cols = min(n, 2)
    rows = math.ceil(n / cols)
    fig = new_figure(width * cols + 2.5, height * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _colors(keys: Sequence[str]) -> dict[str, tuple]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(keys) <= 10 else "tab20"]
    return {k: cmap(i % cmap.N) for i, k in enumerate(keys)}


def _positive(values: Sequence[float]) -> bool:
    return all(math.isfinite(v) and v > 0 for v in values)


def error_vs_params_figure(groups: Sequence[Group], metric: str = "rel_l2") -> Figure | None:
    """See the module docstring; None when no group has a positive finite error."""
    problems = {
        p: [g for g in gs if _positive([g.metric(metric)["mean"]]) and g.n_params > 0]
        for p, gs in _by_problem(groups).items()
    }
    problems = {p: gs for p, gs in problems.items() if gs}
    if not problems:
        return None
    fig, axes = _panels(len(problems))
    for ax, (problem, gs) in zip(axes, problems.items(), strict=True):
        series: dict[str, list[Group]] = {}
        for g in gs:
            series.setdefault(series_key(g), []).append(g)
        colors = _colors(list(series))
        for i, (key, members) in enumerate(series.items()):
            members = sorted(members, key=lambda g: g.n_params)
            n = np.array([g.n_params for g in members], dtype=np.float64)
            st = [g.metric(metric) for g in members]
            mean = np.array([s["mean"] for s in st])
            lo = np.array([s["min"] for s in st])
            hi = np.array([s["max"] for s in st])
            yerr = np.vstack([np.clip(mean - lo, 0, None), np.clip(hi - mean, 0, None)])
            yerr = np.where(np.isfinite(yerr), yerr, 0.0)
            ax.errorbar(
                n,
                mean,
                yerr=yerr,
                color=colors[key],
                marker=MARKERS[i % len(MARKERS)],
                ms=5,
                lw=1.3 if len(members) > 1 else 0,
                elinewidth=0.9,
                capsize=2,
                label=key,
            )
        _draw_scaling_law(ax, gs, metric)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("trainable parameters N (after the last grid extension)")
        ax.set_ylabel(f"{metric} (seed mean; bars: best-worst seed)")
        ax.set_title(problem)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize="x-small", loc="best")
    return fig


def _draw_scaling_law(ax, groups: Sequence[Group], metric: str) -> None:
    """The spline scaling law through the KAN group with the fewest parameters:
    rel_l2, max_abs ~ N^-(k+1); mse ~ N^-2(k+1); rel_h1 ~ N^-k."""
    kans = [g for g in groups if g.first.model == "KAN"]
    if not kans:
        return
    orders = [g.first.spline_order for g in kans if g.first.spline_order]
    k = max(set(orders), key=orders.count) if orders else 3
    anchor = min(kans, key=lambda g: (g.n_params, g.metric(metric)["mean"]))
    n_max = max(max(g.n_params for g in groups), 4 * anchor.n_params)  # a visible guide
    n = np.geomspace(anchor.n_params, n_max, 32)
    # spline interpolation: value error ~ h^(k+1), first derivatives ~ h^k, h ~ 1/N
    power = {"mse": 2 * (k + 1), "rel_h1": k}.get(metric, k + 1)
    y = anchor.metric(metric)["mean"] * (n / anchor.n_params) ** (-power)
    ax.plot(n, y, "k--", lw=1.0, label=f"N^-{power} (splines of order k={k})")


def error_vs_time_figure(groups: Sequence[Group], metric: str = "rel_l2") -> Figure | None:
    """Final ``metric`` against wall time, every completed run a point (log-log)."""
    problems: dict[str, list[Group]] = {}
    for p, gs in _by_problem(groups).items():
        keep = [g for g in gs if any(_ok(r, metric) for r in g.completed)]
        if keep:
            problems[p] = keep
    if not problems:
        return None
    fig, axes = _panels(len(problems))
    for ax, (problem, gs) in zip(axes, problems.items(), strict=True):
        colors = _colors([g.label() for g in gs])
        for i, g in enumerate(gs):
            runs = [r for r in g.completed if _ok(r, metric)]
            ax.scatter(
                [r.wall_time_s for r in runs],
                [r.metrics[metric] for r in runs],
                color=colors[g.label()],
                marker=MARKERS[i % len(MARKERS)],
                s=22,
                label=g.label(),
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("wall time per run [s]")
        ax.set_ylabel(f"final {metric}")
        ax.set_title(problem)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize="x-small", loc="best")
    return fig


def _ok(run: RunSummary, metric: str) -> bool:
    v = run.metrics.get(metric, math.nan)
    return math.isfinite(v) and v > 0 and math.isfinite(run.wall_time_s) and run.wall_time_s > 0


def curves_figure(groups: Sequence[Group], metric: str = "rel_l2") -> Figure | None:
    """Loss and ``metric`` against step for the groups of one problem; None without data."""
    fig = new_figure(13.0, 4.6)
    ax_loss, ax_err = fig.subplots(1, 2)
    colors = _colors([g.label() for g in groups])
    drawn = False
    for g in groups:
        labelled = False
        for r in g.runs:
            step = r.history.get("step")
            if step is None:
                continue
            style = {"color": colors[g.label()], "lw": 1.1, "alpha": 0.85}
            if not r.completed:
                style["ls"] = ":"
            for ax, key in ((ax_loss, "loss"), (ax_err, metric)):
                y = r.history.get(key)
                if y is None:
                    continue
                mask = np.isfinite(y) & (y > 0) & np.isfinite(step)
                if mask.any():
                    ax.plot(step[mask], y[mask], label=None if labelled else g.label(), **style)
                    drawn = True
            labelled = True
    if not drawn:
        return None
    for ax, ylabel in ((ax_loss, "training loss"), (ax_err, metric)):
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
    ax_err.legend(fontsize="x-small", loc="best")
    fig.suptitle(f"{groups[0].problem_label}: every seed a line (dotted: not completed)")
    return fig


def best_runs(groups: Sequence[Group], metric: str = "rel_l2") -> dict[tuple[str, str], RunSummary]:
    """The completed run with the lowest finite ``metric`` per (problem label, model class)."""
    best: dict[tuple[str, str], RunSummary] = {}
    for g in groups:
        for r in g.completed:
            v = r.metrics.get(metric, math.nan)
            if not math.isfinite(v):
                continue
            key = (g.problem_label, r.model)
            if key not in best or v < best[key].metrics[metric]:
                best[key] = r
    return best


def study_figures(
    groups: Sequence[Group],
    out_dir: Path,
    metric: str = "rel_l2",
    on_error: Callable[[str, Exception], None] | None = None,
) -> list[Path]:
    """Write every study figure into ``out_dir``; return the paths written.

    A figure that fails is skipped and reported through ``on_error(name, exception)``
    (re-raised when ``on_error`` is None).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(name: str, build: Callable[[], Figure | None]) -> None:
        try:
            fig = build()
            if fig is None:
                return
            written.append(save_figure(fig, out_dir / name))
        except Exception as exc:  # a figure must never cost the report
            if on_error is None:
                raise
            on_error(name, exc)

    save("error_vs_params.png", lambda: error_vs_params_figure(groups, metric))
    save("error_vs_time.png", lambda: error_vs_time_figure(groups, metric))
    for problem, gs in _by_problem(groups).items():
        save(f"curves_{slug(problem)}.png", lambda gs=gs: curves_figure(gs, metric))
    for (problem, model), run in best_runs(groups, metric).items():
        save(f"best_{slug(problem)}_{slug(model)}.png", lambda run=run: _best_figure(run, metric))
    return written


def _best_figure(run: RunSummary, metric: str) -> Figure | None:
    fig = solution_figure(read_run(run.path))
    if fig is not None:
        fig.suptitle(
            f"{run.problem} / {run.model} {run.widths}: best run, {metric} = "
            f"{run.metrics[metric]:.3e} (seed {run.seed})"
        )
    return fig
