"""Solution figures of one run: prediction, reference and error on the evaluation grid (lines,
maps, x-t maps, slices at a few times) or, without a grid, on the scattered points."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from kanpde.figures.history import run_title
from kanpde.figures.style import finite_any, new_figure, positive
from kanpde.results import RunRecord

TIME_NAME = "t"


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


def _component_label(c: int, dim_out: int, record: RunRecord | None = None) -> str:
    """The name of output component ``c``: from the run's ``output_names`` attribute (comma
    separated, e.g. "u,v,p") when it names every component, else ``u[c]`` (``u`` alone)."""
    names = str((record.attrs if record is not None else {}).get("output_names", "")).split(",")
    if len(names) == dim_out and all(names):
        return names[c]
    return f"u[{c}]" if dim_out > 1 else "u"


def _solution_1d(record: RunRecord, name: str, x: np.ndarray, fields) -> Figure:
    dim_out = fields["u_pred"].shape[-1]
    has_err = "error" in fields
    fig = new_figure(9.0 if has_err else 5.0, 3.4 * dim_out)
    axs = fig.subplots(dim_out, 2 if has_err else 1, squeeze=False)
    order = np.argsort(x, kind="stable")
    for c in range(dim_out):
        lab = _component_label(c, dim_out, record)
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
            if positive(err).any():
                ax.set_yscale("log")
            ax.set_xlabel(name)
            ax.set_ylabel(f"|error| of {lab}")
            ax.grid(True, alpha=0.3)
    fig.suptitle(run_title(record))
    return fig


def _solution_2d(record: RunRecord, names: list[str], axes: list[np.ndarray], fields) -> Figure:
    h, v = map_orientation(names)
    panels = _panels(fields)
    dim_out = fields["u_pred"].shape[-1]
    fig = new_figure(4.2 * len(panels), 3.6 * dim_out)
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
            ax.set_title(f"{label} {_component_label(c, dim_out, record)}", fontsize="medium")
    fig.suptitle(run_title(record))
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
    fig = new_figure(4.0 * len(idx), 3.4 * nrows)
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
                comp = _component_label(c, dim_out, record)
                ax.set_title(f"{label} {comp}, {names[s]} = {axes[s][k]:.3g}",
                             fontsize="medium")
    fig.suptitle(run_title(record))
    return fig


def section(coords: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, str]:
    """The points of a scattered set in more than two coordinates that a planar figure shows:
    every coordinate after the first two held at one of its values (time ``t`` at its last,
    any other at the value nearest the middle of its range). ``(mask (n,), "t=1, z=0.5")``."""
    mask = np.ones(len(coords), dtype=bool)
    held = []
    for i in range(2, coords.shape[1]):
        values = np.unique(coords[mask, i])
        target = values[-1] if names[i] == "t" else 0.5 * (values[0] + values[-1])
        value = values[np.argmin(np.abs(values - target))]
        mask &= np.isclose(coords[:, i], value)
        held.append(f"{names[i]}={value:.3g}")
    return mask, ", ".join(held)


def _solution_scattered(record: RunRecord) -> Figure | None:
    """Fallback without grid axes: 1-D coords -> lines; 2-D coords -> coloured scatter; more
    coordinates -> a coloured scatter of the section through the first two (:func:`section`)."""
    coords = record.eval.get("coords")
    if coords is None or coords.ndim != 2 or coords.shape[1] < 1:
        return None
    fields = {
        k: np.asarray(record.eval[k], dtype=np.float64)
        for k in ("u_pred", "u_ref", "error")
        if k in record.eval and record.eval[k].shape[0] == coords.shape[0]
    }
    if "u_pred" not in fields or not finite_any(fields["u_pred"]):
        return None
    names = record.coord_names or [f"x{i}" for i in range(coords.shape[1])]
    held = ""
    if coords.shape[1] > 2:
        mask, held = section(coords, names)
        if mask.sum() < 3:
            return None
        coords, fields = coords[mask], {k: v[mask] for k, v in fields.items()}
    if coords.shape[1] == 1:
        return _solution_1d(record, names[0], np.asarray(coords[:, 0], np.float64), fields)
    panels = _panels(fields)
    dim_out = fields["u_pred"].shape[-1]
    fig = new_figure(4.2 * len(panels), 3.6 * dim_out)
    axs = fig.subplots(dim_out, len(panels), squeeze=False)
    h, v = map_orientation(names[:2])
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
            ax.set_title(f"{label} {_component_label(c, dim_out, record)}", fontsize="medium")
    fig.suptitle(run_title(record) + (f" ({held})" if held else ""))
    return fig


def solution_figure(record: RunRecord) -> Figure | None:
    """Prediction / reference / |error| on the evaluation grid; None when not available."""
    if "u_pred" not in record.eval or not finite_any(record.eval["u_pred"]):
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
    if "u_pred" not in record.eval or not finite_any(record.eval["u_pred"]):
        return None
    names, axes, fields = grid_fields(record)
    h, v = map_orientation(names)  # h: space, v: time
    idx = _slice_indices(len(axes[v]), n_times)
    dim_out = fields["u_pred"].shape[-1]
    fig = new_figure(3.6 * len(idx), 3.2 * dim_out)
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
        axs[c, 0].set_ylabel(_component_label(c, dim_out, record))
        axs[c, 0].legend(fontsize="small")
    fig.suptitle(run_title(record))
    return fig
