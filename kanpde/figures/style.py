"""The one figure style of kanpde (per-run figures, study reports, interpretability):
matplotlib ``Figure`` objects on the Agg canvas (no pyplot, no display, no global backend
change), constrained layout, PNG at :data:`DPI`, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kanpde.core.atomic import atomic_path

DPI = 110
MARKERS = "osD^v<>ph*"


def new_figure(width: float, height: float) -> Figure:
    """An empty ``width`` x ``height`` inch figure with constrained layout."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as PNG atomically (a temporary file, then ``os.replace``)."""
    path = Path(path)
    with atomic_path(path, suffix=".tmp.png") as tmp:
        fig.savefig(tmp, dpi=DPI)
    return path


def positive(y: np.ndarray) -> np.ndarray:
    """Mask of entries usable on a log axis: finite and > 0."""
    y = np.asarray(y, dtype=np.float64)
    return np.isfinite(y) & (y > 0)


def finite_any(a: np.ndarray | None) -> bool:
    """Whether ``a`` holds at least one finite value."""
    return a is not None and a.size > 0 and bool(np.isfinite(a).any())
