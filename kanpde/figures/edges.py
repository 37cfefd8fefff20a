"""The learned functions of the first KAN layer of one run (``edges`` group of run.h5)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from kanpde.figures.history import run_title
from kanpde.figures.style import finite_any, new_figure
from kanpde.results import RunRecord

MAX_EDGE_GRID = 16  # at most this many inputs (rows) and outputs (columns) in edges.png


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
    if not finite_any(phi):
        return None
    n_in, n_out = min(phi.shape[1], MAX_EDGE_GRID), min(phi.shape[2], MAX_EDGE_GRID)
    fig = new_figure(max(1.6 * n_out, 4.0), max(1.4 * n_in, 2.4))
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
    fig.suptitle(f"{run_title(record)}: first-layer edge functions phi_ij(x_i){shown}")
    return fig
