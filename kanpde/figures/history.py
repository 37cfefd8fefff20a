"""Training-history figures of one run: the loss terms and the test error against the step."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from kanpde.figures.style import new_figure, positive
from kanpde.results import RunRecord


def run_title(record: RunRecord) -> str:
    """"<problem> / <model>", with the status unless the run completed."""
    a = record.attrs
    parts = [str(a.get("problem", "?")), str(a.get("model", "?"))]
    status = a.get("status", "")
    return " / ".join(parts) + (f"  ({status})" if status and status != "completed" else "")


def history_steps(record: RunRecord) -> np.ndarray:
    """The history x-axis: ``step`` when present, else the row index.  # (T,)"""
    h = record.history
    if "step" in h:
        return np.asarray(h["step"], dtype=np.float64)
    n = len(next(iter(h.values()))) if h else 0
    return np.arange(n, dtype=np.float64)


def grid_changes(record: RunRecord) -> list[float]:
    """Steps at which ``history/grid_size`` changes value."""
    g = record.history.get("grid_size")
    if g is None or len(g) < 2:
        return []
    steps = history_steps(record)
    g = np.asarray(g, dtype=np.float64)
    idx = np.nonzero(np.isfinite(g[1:]) & np.isfinite(g[:-1]) & (g[1:] != g[:-1]))[0] + 1
    return [float(steps[i]) for i in idx]


def loss_figure(record: RunRecord) -> Figure | None:
    """Total loss and each ``loss_<term>`` vs step on a log y axis; None when nothing to plot."""
    h = record.history
    keys = [k for k in h if k == "loss" or k.startswith("loss_")]
    steps = history_steps(record)
    series = [(k, positive(h[k])) for k in keys]
    series = [(k, m) for k, m in series if m.any()]
    if not series:
        return None
    fig = new_figure(6.4, 4.2)
    ax = fig.add_subplot()
    for key, mask in series:
        label = "total" if key == "loss" else key.removeprefix("loss_")
        style = {"color": "k", "lw": 1.8} if key == "loss" else {"lw": 1.2}
        ax.plot(steps[mask], np.asarray(h[key], dtype=np.float64)[mask], label=label, **style)
    for i, s in enumerate(grid_changes(record)):
        ax.axvline(s, color="0.5", ls=":", lw=1.0, label="grid change" if i == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (mean square)")
    ax.set_title(run_title(record))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def error_figure(record: RunRecord) -> Figure | None:
    """rel_l2 (and rel_h1) vs step and vs wall time (log y); None when no finite metric."""
    h = record.history
    metrics = [k for k in ("rel_l2", "rel_h1") if k in h and positive(h[k]).any()]
    if not metrics:
        return None
    time = h.get("time_s")
    with_time = time is not None and bool(np.isfinite(np.asarray(time, dtype=np.float64)).any())
    fig = new_figure(10.0 if with_time else 6.0, 4.0)
    axes = fig.subplots(1, 2 if with_time else 1, squeeze=False)[0]
    abscissae: list[tuple[str, np.ndarray]] = [("step", history_steps(record))]
    if with_time:
        abscissae.append(("wall time [s]", np.asarray(time, dtype=np.float64)))
    for ax, (xlabel, xs) in zip(axes, abscissae, strict=True):
        for key in metrics:
            y = np.asarray(h[key], dtype=np.float64)
            mask = positive(y) & np.isfinite(xs)
            ax.plot(xs[mask], y[mask], label=key.replace("_", " "))
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("relative error")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(run_title(record))
    return fig


def coefficients_figure(record: RunRecord) -> Figure | None:
    """Each learned coefficient ``coef_<name>`` vs step, its true value (the attribute
    ``coef_<name>_true``) dashed; None when the run learned none."""
    h = record.history
    names = [k.removeprefix("coef_") for k in h if k.startswith("coef_")]
    if not names:
        return None
    steps = history_steps(record)
    fig = new_figure(4.6 * len(names), 3.8)
    for ax, name in zip(fig.subplots(1, len(names), squeeze=False)[0], names, strict=True):
        y = np.asarray(h[f"coef_{name}"], dtype=np.float64)
        ax.plot(steps, y, lw=1.6, label="learned")
        true = record.attrs.get(f"coef_{name}_true")
        if true is not None:
            ax.axhline(float(true), color="k", ls="--", lw=1.0, label="true")
        ax.set_xlabel("step")
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(run_title(record))
    return fig
