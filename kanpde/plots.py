"""Figures from one ``run.h5`` (see :mod:`kanpde.io`); never reruns a model.

    figures(run_h5_path, out_dir=None) -> list[Path]

writes, next to ``run.h5`` unless ``out_dir`` is given, whichever of these the file supports:

    loss.png      total loss and every ``loss_<term>`` vs step (log y); dotted lines mark
                  the steps where ``grid_size`` changes (KAN grid extension)
    error.png     rel_l2 (and rel_h1 when present) vs step and vs wall time (log y)
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

Command line: ``python -m kanpde.plots RUN.h5 [RUN.h5 ...] [-o OUT_DIR]``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kanpde.io import RunRecord, read_run

__all__ = [
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

TIME_NAME = "t"
_MAX_EDGE_GRID = 16  # at most this many inputs (rows) and outputs (columns) in edges.png
_DPI = 110


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _title(record: RunRecord) -> str:
    a = record.attrs
    parts = [str(a.get("problem", "?")), str(a.get("model", "?"))]
    status = a.get("status", "")
    return " / ".join(parts) + (f"  ({status})" if status and status != "completed" else "")


def _positive(y: np.ndarray) -> np.ndarray:
    """Mask of entries usable on a log axis: finite and > 0."""
    y = np.asarray(y, dtype=np.float64)
    return np.isfinite(y) & (y > 0)


def _steps(record: RunRecord) -> np.ndarray:
    """The history x-axis: ``step`` when present, else the row index.  # (T,)"""
    h = record.history
    if "step" in h:
        return np.asarray(h["step"], dtype=np.float64)
    n = len(next(iter(h.values()))) if h else 0
    return np.arange(n, dtype=np.float64)


def _grid_changes(record: RunRecord) -> list[float]:
    """Steps at which ``history/grid_size`` changes value."""
    g = record.history.get("grid_size")
    if g is None or len(g) < 2:
        return []
    steps = _steps(record)
    g = np.asarray(g, dtype=np.float64)
    idx = np.nonzero(np.isfinite(g[1:]) & np.isfinite(g[:-1]) & (g[1:] != g[:-1]))[0] + 1
    return [float(steps[i]) for i in idx]


def _finite_any(a: np.ndarray | None) -> bool:
    return a is not None and a.size > 0 and bool(np.isfinite(a).any())


# --------------------------------------------------------------------------------------
# History figures
# --------------------------------------------------------------------------------------


def loss_figure(record: RunRecord) -> Figure | None:
    """Total loss and each ``loss_<term>`` vs step on a log y axis; None when nothing to plot."""
    h = record.history
    keys = [k for k in h if k == "loss" or k.startswith("loss_")]
    steps = _steps(record)
    series = [(k, _positive(h[k])) for k in keys]
    series = [(k, m) for k, m in series if m.any()]
    if not series:
        return None
    fig = _new_figure(6.4, 4.2)
    ax = fig.add_subplot()
    for key, mask in series:
        label = "total" if key == "loss" else key.removeprefix("loss_")
        style = {"color": "k", "lw": 1.8} if key == "loss" else {"lw": 1.2}
        ax.plot(steps[mask], np.asarray(h[key], dtype=np.float64)[mask], label=label, **style)
    for i, s in enumerate(_grid_changes(record)):
        ax.axvline(s, color="0.5", ls=":", lw=1.0, label="grid change" if i == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (mean square)")
    ax.set_title(_title(record))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def error_figure(record: RunRecord) -> Figure | None:
    """rel_l2 (and rel_h1) vs step and vs wall time (log y); None when no finite metric."""
    h = record.history
    metrics = [k for k in ("rel_l2", "rel_h1") if k in h and _positive(h[k]).any()]
    if not metrics:
        return None
    time = h.get("time_s")
    with_time = time is not None and bool(np.isfinite(np.asarray(time, dtype=np.float64)).any())
    fig = _new_figure(10.0 if with_time else 6.0, 4.0)
    axes = fig.subplots(1, 2 if with_time else 1, squeeze=False)[0]
    abscissae: list[tuple[str, np.ndarray]] = [("step", _steps(record))]
    if with_time:
        abscissae.append(("wall time [s]", np.asarray(time, dtype=np.float64)))
    for ax, (xlabel, xs) in zip(axes, abscissae, strict=True):
        for key in metrics:
            y = np.asarray(h[key], dtype=np.float64)
            mask = _positive(y) & np.isfinite(xs)
            ax.plot(xs[mask], y[mask], label=key.replace("_", " "))
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("relative error")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(_title(record))
    return fig


# --------------------------------------------------------------------------------------
# Evaluation-grid helpers
# --------------------------------------------------------------------------------------


def map_orientation(names: Sequence[str]) -> tuple[int, int]:
    """(horizontal, vertical) coordinate indices for a map over two coordinates.

    Space-time pairs put the spatial coordinate horizontally and time (``"t"``) vertically,
    whatever their order: ("t", "x") -> (1, 0), ("x", "t") -> (0, 1). Otherwise the first
    coordinate is horizontal: ("x", "y") -> (0, 1).
    """
    if len(names) != 2:
        raise ValueError(f"names must hold 2 coordinate names, got {list(names)}")
    if TIME_NAME in names:
        v = list(names).index(TIME_NAME)
        return 1 - v, v
    return 0, 1


def plane(values: np.ndarray, h: int, v: int) -> np.ndarray:
    """A 2-D ij-grid field ``values[i0, i1]`` rearranged as (n_v, n_h) for pcolormesh."""
    if values.ndim != 2 or sorted((h, v)) != [0, 1]:
        raise ValueError(f"plane needs a 2-D field and (h, v) a permutation of (0, 1), got {h, v}")
    return values if (v, h) == (0, 1) else values.T


def grid_fields(record: RunRecord) -> tuple[list[str], list[np.ndarray], dict[str, np.ndarray]]:
    """Evaluation fields reshaped onto the ij-grid of ``record.axes``.

    Returns (names, axes, fields) with fields[key] of shape (n_0, ..., n_{d-1}, dim_out)
    for key in u_pred, u_ref, error (those present). Raises ValueError when the file has
    no grid axes or their sizes do not match the fields.
    """
    if not record.axes:
        raise ValueError(f"{record.path}: no eval/axes grid")
    names = list(record.axes)
    axes = [np.asarray(a, dtype=np.float64) for a in record.axes.values()]
    shape = tuple(len(a) for a in axes)
    fields: dict[str, np.ndarray] = {}
    for key in ("u_pred", "u_ref", "error"):
        arr = record.eval.get(key)
        if arr is None:
            continue
        arr = np.asarray(arr, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] != math.prod(shape):
            raise ValueError(f"{record.path}: eval/{key} of shape {arr.shape} does not fit {shape}")
        fields[key] = arr.reshape(*shape, arr.shape[1])
    return names, axes, fields


def _panels(fields: dict[str, np.ndarray]) -> list[tuple[str, str, np.ndarray]]:
    """(key, label, values) for the prediction, reference and |error| columns present."""
    out = [("u_pred", "prediction", fields["u_pred"])]
    if "u_ref" in fields:
        out.append(("u_ref", "reference", fields["u_ref"]))
    if "error" in fields:
        out.append(("error", "|error|", np.abs(fields["error"])))
    return out


def _shared_limits(fields: dict[str, np.ndarray], c: int) -> tuple[float, float] | None:
    vals = [fields[k][..., c] for k in ("u_pred", "u_ref") if k in fields]
    finite = np.concatenate([v[np.isfinite(v)] for v in vals])
    if finite.size == 0:
        return None
    return float(finite.min()), float(finite.max())


def _map(fig: Figure, ax, hx: np.ndarray, vy: np.ndarray, z: np.ndarray, lims, cmap: str):
    mesh = ax.pcolormesh(
        hx, vy, np.ma.masked_invalid(z), shading="nearest", cmap=cmap,
        vmin=None if lims is None else lims[0], vmax=None if lims is None else lims[1],
    )  # fmt: skip
    fig.colorbar(mesh, ax=ax, shrink=0.85)
    return mesh


def _component_label(c: int, dim_out: int) -> str:
    return f"u[{c}]" if dim_out > 1 else "u"


# --------------------------------------------------------------------------------------
# Solution figures
# --------------------------------------------------------------------------------------


def _solution_1d(record: RunRecord, name: str, x: np.ndarray, fields) -> Figure:
    dim_out = fields["u_pred"].shape[-1]
    has_err = "error" in fields
    fig = _new_figure(9.0 if has_err else 5.0, 3.4 * dim_out)
    axs = fig.subplots(dim_out, 2 if has_err else 1, squeeze=False)
    order = np.argsort(x, kind="stable")
    for c in range(dim_out):
        lab = _component_label(c, dim_out)
        ax = axs[c, 0]
        ax.plot(x[order], fields["u_pred"][order, c], label="prediction", lw=1.6)
        if "u_ref" in fields:
            ax.plot(x[order], fields["u_ref"][order, c], "k--", label="reference", lw=1.2)
        ax.set_xlabel(name)
        ax.set_ylabel(lab)
        ax.legend(fontsize="small")
        ax.grid(True, alpha=0.3)
        if has_err:
            ax = axs[c, 1]
            err = np.abs(fields["error"][order, c])
            ax.plot(x[order], err, color="tab:red")
            if _positive(err).any():
                ax.set_yscale("log")
            ax.set_xlabel(name)
            ax.set_ylabel(f"|error| of {lab}")
            ax.grid(True, alpha=0.3)
    fig.suptitle(_title(record))
    return fig


def _solution_2d(record: RunRecord, names: list[str], axes: list[np.ndarray], fields) -> Figure:
    h, v = map_orientation(names)
    panels = _panels(fields)
    dim_out = fields["u_pred"].shape[-1]
    fig = _new_figure(4.2 * len(panels), 3.6 * dim_out)
    axs = fig.subplots(dim_out, len(panels), squeeze=False)
    for c in range(dim_out):
        lims = _shared_limits(fields, c)
        for k, (key, label, values) in enumerate(panels):
            ax = axs[c, k]
            z = plane(values[..., c], h, v)  # (n_v, n_h)
            is_err = key == "error"
            _map(fig, ax, axes[h], axes[v], z, None if is_err else lims,
                 "magma" if is_err else "viridis")  # fmt: skip
            ax.set_xlabel(names[h])
            ax.set_ylabel(names[v])
            ax.set_title(f"{label} {_component_label(c, dim_out)}", fontsize="medium")
    fig.suptitle(_title(record))
    return fig


def _slice_axis(names: list[str]) -> int:
    """The coordinate sliced in 3-D maps: time when present, else the last coordinate."""
    return names.index(TIME_NAME) if TIME_NAME in names else len(names) - 1


def _slice_indices(n: int, k: int) -> list[int]:
    """``k`` evenly spread indices in [0, n) including both ends, without repeats."""
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, min(k, n))})


def _solution_3d(record: RunRecord, names: list[str], axes: list[np.ndarray], fields) -> Figure:
    s = _slice_axis(names)
    h, v = [i for i in range(3) if i != s]
    idx = _slice_indices(len(axes[s]), 3)
    panels = _panels(fields)
    dim_out = fields["u_pred"].shape[-1]
    nrows = len(panels) * dim_out
    fig = _new_figure(4.0 * len(idx), 3.4 * nrows)
    axs = fig.subplots(nrows, len(idx), squeeze=False)
    for c in range(dim_out):
        lims = _shared_limits(fields, c)
        for p, (key, label, values) in enumerate(panels):
            is_err = key == "error"
            err_lims = None
            if is_err:
                finite = values[..., c][np.isfinite(values[..., c])]
                err_lims = (0.0, float(finite.max())) if finite.size else None
            for col, k in enumerate(idx):
                ax = axs[c * len(panels) + p, col]
                sub = np.take(values[..., c], k, axis=s)  # (n_h, n_v) since h < v
                z = plane(sub, 0, 1)  # (n_v, n_h)
                _map(fig, ax, axes[h], axes[v], z, err_lims if is_err else lims,
                     "magma" if is_err else "viridis")  # fmt: skip
                ax.set_xlabel(names[h])
                ax.set_ylabel(names[v])
                ax.set_aspect("equal", adjustable="box")
                ax.set_title(
                    f"{label} {_component_label(c, dim_out)}, {names[s]} = {axes[s][k]:.3g}",
                    fontsize="medium",
                )
    fig.suptitle(_title(record))
    return fig


def _solution_scattered(record: RunRecord) -> Figure | None:
    """Fallback without grid axes: 1-D coords -> lines; 2-D coords -> coloured scatter."""
    coords = record.eval.get("coords")
    if coords is None or coords.ndim != 2 or coords.shape[1] not in (1, 2):
        return None
    fields = {
        k: np.asarray(record.eval[k], dtype=np.float64)
        for k in ("u_pred", "u_ref", "error")
        if k in record.eval and record.eval[k].shape[0] == coords.shape[0]
    }
    if "u_pred" not in fields or not _finite_any(fields["u_pred"]):
        return None
    names = record.coord_names or [f"x{i}" for i in range(coords.shape[1])]
    if coords.shape[1] == 1:
        return _solution_1d(record, names[0], np.asarray(coords[:, 0], np.float64), fields)
    panels = _panels(fields)
    dim_out = fields["u_pred"].shape[-1]
    fig = _new_figure(4.2 * len(panels), 3.6 * dim_out)
    axs = fig.subplots(dim_out, len(panels), squeeze=False)
    h, v = map_orientation(names)
    for c in range(dim_out):
        lims = _shared_limits(fields, c)
        for k, (key, label, values) in enumerate(panels):
            ax = axs[c, k]
            is_err = key == "error"
            sc = ax.scatter(
                coords[:, h], coords[:, v], c=values[:, c], s=6,
                cmap="magma" if is_err else "viridis",
                vmin=None if is_err or lims is None else lims[0],
                vmax=None if is_err or lims is None else lims[1],
            )  # fmt: skip
            fig.colorbar(sc, ax=ax, shrink=0.85)
            ax.set_xlabel(names[h])
            ax.set_ylabel(names[v])
            ax.set_title(f"{label} {_component_label(c, dim_out)}", fontsize="medium")
    fig.suptitle(_title(record))
    return fig


def solution_figure(record: RunRecord) -> Figure | None:
    """Prediction / reference / |error| on the evaluation grid; None when not available."""
    if "u_pred" not in record.eval or not _finite_any(record.eval["u_pred"]):
        return None
    if not record.axes:
        return _solution_scattered(record)
    names, axes, fields = grid_fields(record)
    if len(names) == 1:
        return _solution_1d(record, names[0], axes[0], fields)
    if len(names) == 2:
        return _solution_2d(record, names, axes, fields)
    if len(names) == 3:
        return _solution_3d(record, names, axes, fields)
    return None


def slices_figure(record: RunRecord, n_times: int = 4) -> Figure | None:
    """u_pred vs u_ref against the spatial coordinate at ``n_times`` times (space-time 2-D).

    None unless the evaluation grid has exactly two coordinates, one of them ``"t"``.
    """
    if len(record.axes) != 2 or TIME_NAME not in record.axes:
        return None
    if "u_pred" not in record.eval or not _finite_any(record.eval["u_pred"]):
        return None
    names, axes, fields = grid_fields(record)
    h, v = map_orientation(names)  # h: space, v: time
    idx = _slice_indices(len(axes[v]), n_times)
    dim_out = fields["u_pred"].shape[-1]
    fig = _new_figure(3.6 * len(idx), 3.2 * dim_out)
    axs = fig.subplots(dim_out, len(idx), squeeze=False, sharey="row")
    for c in range(dim_out):
        for col, k in enumerate(idx):
            ax = axs[c, col]
            pred = plane(fields["u_pred"][..., c], h, v)[k]  # (n_h,)
            ax.plot(axes[h], pred, lw=1.6, label="prediction")
            if "u_ref" in fields:
                ref = plane(fields["u_ref"][..., c], h, v)[k]
                ax.plot(axes[h], ref, "k--", lw=1.2, label="reference")
            ax.set_xlabel(names[h])
            ax.set_title(f"{names[v]} = {axes[v][k]:.3g}", fontsize="medium")
            ax.grid(True, alpha=0.3)
        axs[c, 0].set_ylabel(_component_label(c, dim_out))
        axs[c, 0].legend(fontsize="small")
    fig.suptitle(_title(record))
    return fig


def edges_figure(record: RunRecord) -> Figure | None:
    """phi[:, i, j] vs x[:, i] for every edge (i, j) of the first KAN layer.

    Needs ``record.extra["edges"]`` with x (M, in) and phi (M, in, out); rows are inputs i,
    columns outputs j (at most 16 of each are drawn). None when absent or malformed.
    """
    edges = record.extra.get("edges")
    if not edges or "x" not in edges or "phi" not in edges:
        return None
    x = np.asarray(edges["x"], dtype=np.float64)  # (M, in)
    phi = np.asarray(edges["phi"], dtype=np.float64)  # (M, in, out)
    if x.ndim != 2 or phi.ndim != 3 or phi.shape[:2] != x.shape or x.shape[0] == 0:
        return None
    if not _finite_any(phi):
        return None
    n_in, n_out = min(phi.shape[1], _MAX_EDGE_GRID), min(phi.shape[2], _MAX_EDGE_GRID)
    fig = _new_figure(max(1.6 * n_out, 4.0), max(1.4 * n_in, 2.4))
    axs = fig.subplots(n_in, n_out, squeeze=False)
    names = record.coord_names if len(record.coord_names) == phi.shape[1] else None
    for i in range(n_in):
        order = np.argsort(x[:, i], kind="stable")
        for j in range(n_out):
            ax = axs[i, j]
            ax.plot(x[order, i], phi[order, i, j], lw=1.2)
            ax.tick_params(labelsize="x-small")
            if i == 0:
                ax.set_title(f"out {j}", fontsize="small")
            if j == 0:
                ax.set_ylabel(f"in {i}" + (f" ({names[i]})" if names else ""), fontsize="small")
    shown = ""
    if (n_in, n_out) != phi.shape[1:]:
        shown = f" (first {n_in}x{n_out} of {phi.shape[1]}x{phi.shape[2]} edges)"
    fig.suptitle(f"{_title(record)}: first-layer edge functions phi_ij(x_i){shown}")
    return fig


# --------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------

_BUILDERS: tuple[tuple[str, Callable[[RunRecord], Figure | None]], ...] = (
    ("loss.png", loss_figure),
    ("error.png", error_figure),
    ("solution.png", solution_figure),
    ("slices.png", slices_figure),
    ("edges.png", edges_figure),
)


def figures(run_h5_path: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Write every figure the run file supports; return the paths written (in order).

    Args:
        run_h5_path: a ``run.h5`` written by :func:`kanpde.io.write_run`.
        out_dir: destination directory (created when missing); default: the file's directory.

    Raises:
        FileNotFoundError / OSError / ValueError: from :func:`kanpde.io.read_run` when the
        file is missing, corrupt or not a run file.
    """
    path = Path(run_h5_path)
    record = read_run(path)
    out = Path(out_dir) if out_dir is not None else path.parent
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for filename, build in _BUILDERS:
        fig = build(record)
        if fig is None:
            continue
        target = out / filename
        fig.savefig(target, dpi=_DPI)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kanpde.plots RUN.h5 [...] [-o OUT_DIR]``; prints the figures written."""
    parser = argparse.ArgumentParser(
        prog="python -m kanpde.plots", description="Figures from kanpde run.h5 files."
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


if __name__ == "__main__":
    raise SystemExit(main())
