"""Interpretability figures (matplotlib ``Figure`` objects on the Agg canvas; headless).

* :func:`layer_figure`: one layer's edges, a grid of panels (rows: inputs ``i``, columns:
  outputs ``j``); each shows ``phi_ij`` over the range its inputs actually took, a histogram
  of those inputs (grey, right axis), the line's opacity set by the edge score, and, when
  given, the symbolic fit (dashed) with its function and ``R^2``. Pruned edges are drawn
  as dotted grey lines.
* :func:`network_figure`: the whole network in the style of the KAN paper's figures:
  nodes in rows (inputs at the bottom), every edge a line through a small inset of its
  function, opacity by the edge score.

Both take plain numpy data (:class:`LayerPlotData`) so they can be drawn from stored records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.figure import Figure

from kanpde.explain.fit import EdgeFit
from kanpde.figures.style import new_figure

_MAX_PANELS = 12  # rows / columns of a layer figure
_MAX_INSETS = 60  # per layer of the network diagram


@dataclass
class LayerPlotData:
    """Numpy data of one layer: curves ``x`` ``(M, in)``, ``phi`` ``(M, in, out)``, the
    inputs seen ``inputs`` ``(N, in)``, ``scores`` and ``mask`` ``(in, out)``, fits."""

    x: np.ndarray
    phi: np.ndarray
    inputs: np.ndarray
    scores: np.ndarray
    mask: np.ndarray
    fits: Mapping[tuple[int, int], EdgeFit] = field(default_factory=dict)



def _alpha(score: float) -> float:
    return float(np.clip(0.15 + 0.85 * score, 0.15, 1.0))


def layer_figure(data: LayerPlotData, layer: int, input_names: Sequence[str] | None = None
                 ) -> Figure:
    """Edge functions of one layer (see the module docstring)."""
    n_in = min(data.phi.shape[1], _MAX_PANELS)
    n_out = min(data.phi.shape[2], _MAX_PANELS)
    fig = new_figure(max(2.0 * n_out, 4.0), max(1.7 * n_in, 2.6))
    axs = fig.subplots(n_in, n_out, squeeze=False)
    for i in range(n_in):
        xi = data.x[:, i]
        for j in range(n_out):
            ax = axs[i, j]
            hist = ax.twinx()
            hist.hist(data.inputs[:, i], bins=30, color="0.85", zorder=0)
            hist.set_yticks([])
            ax.set_zorder(hist.get_zorder() + 1)
            ax.patch.set_visible(False)
            live = bool(data.mask[i, j])
            if live:
                ax.plot(xi, data.phi[:, i, j], color="C0", lw=1.6,
                        alpha=_alpha(float(data.scores[i, j])))
            else:
                ax.plot(xi, data.phi[:, i, j], color="0.6", lw=1.0, ls=":")
            fit = data.fits.get((i, j))
            label = f"{layer}.{i}->{j}  E={float(data.scores[i, j]):.2f}"
            if fit is not None and live:
                with np.errstate(all="ignore"):
                    ax.plot(xi, fit.evaluate(xi), color="C3", lw=1.0, ls="--")
                r2 = "" if not np.isfinite(fit.r2) else f" R2={fit.r2:.6f}"
                label += f"\n{fit.name}{r2}"
            if not live:
                label += " (pruned)"
            ax.set_title(label, fontsize="x-small")
            ax.tick_params(labelsize="x-small")
            if j == 0 and input_names is not None and i < len(input_names):
                ax.set_ylabel(input_names[i], fontsize="small")
    shown = ""
    if (n_in, n_out) != data.phi.shape[1:]:
        shown = f" (first {n_in}x{n_out} of {data.phi.shape[1]}x{data.phi.shape[2]})"
    fig.suptitle(f"layer {layer}: edge functions phi_ij over the inputs seen{shown}",
                 fontsize="small")
    return fig


def _node_x(n: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, n + 2)[1:-1]


def network_figure(layers: Sequence[LayerPlotData], input_names: Sequence[str] | None = None,
                   title: str = "") -> Figure:
    """Whole-network diagram (see the module docstring)."""
    n_layers = len(layers)
    widths = [layers[0].phi.shape[1]] + [d.phi.shape[2] for d in layers]
    fig = new_figure(max(6.0, 0.9 * max(widths) + 2), 2.4 * n_layers + 1.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.3, n_layers + 0.3)
    ax.axis("off")
    for l, d in enumerate(layers):
        n_in, n_out = d.phi.shape[1], d.phi.shape[2]
        xin, xout = _node_x(n_in), _node_x(n_out)
        edges = [(i, j) for i in range(n_in) for j in range(n_out)]
        slots = _node_x(len(edges))
        box_w = min(0.8 / max(len(edges), 1), 0.09)
        box_h = 0.28
        yb = l + 0.5
        insets = len(edges) <= _MAX_INSETS
        for k, (i, j) in enumerate(edges):
            live = bool(d.mask[i, j])
            alpha = _alpha(float(d.scores[i, j])) if live else 0.08
            color = "k" if live else "0.6"
            if insets:
                ax.plot([xin[i], slots[k]], [l, yb - box_h / 2], color=color, alpha=alpha, lw=1)
                ax.plot([slots[k], xout[j]], [yb + box_h / 2, l + 1], color=color, alpha=alpha,
                        lw=1)
                if live:
                    sub = ax.inset_axes([slots[k] - box_w / 2, yb - box_h / 2, box_w, box_h],
                                        transform=ax.transData)
                    sub.plot(d.x[:, i], d.phi[:, i, j], color="C0", alpha=alpha, lw=1.2)
                    sub.set_xticks([])
                    sub.set_yticks([])
                    for s in sub.spines.values():
                        s.set_alpha(alpha)
                    fit = d.fits.get((i, j))
                    if fit is not None:
                        sub.set_title(fit.name, fontsize=6, pad=1)
            else:
                ax.plot([xin[i], xout[j]], [l, l + 1], color=color, alpha=alpha, lw=1)
    for l, w in enumerate(widths):
        xs = _node_x(w)
        alive = np.ones(w, dtype=bool)
        if 0 < l < n_layers:
            alive = layers[l - 1].mask.any(axis=0) & layers[l].mask.any(axis=1)
        ax.scatter(xs, np.full(w, l), s=60, c=["k" if a else "0.75" for a in alive], zorder=3)
        if l == 0 and input_names is not None:
            for xv, name in zip(xs, input_names, strict=False):
                ax.text(xv, l - 0.18, name, ha="center", va="top", fontsize="small")
    ax.set_title(title or "KAN: edge functions (opacity: importance)", fontsize="small")
    return fig
