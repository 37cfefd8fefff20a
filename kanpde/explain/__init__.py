"""Interpretability of trained KANs: edge plots, importance, pruning, symbolic formulas.

    importance      edge and node scores from activation magnitudes (KAN paper 2.5.1)
    pruning         edge masks below a score threshold, dead nodes removed
    library, fit    a * g(b x + c) + d over a library of functions, ranked by R^2, complexity
    symbolic        SymbolicKAN: locked edges with learnable affine parameters; sympy formula
    finetune        L-BFGS on the PDE loss
    formula         expand, snap constants, simplify, error against the reference
    figures         edge plots with input histograms, network diagram (headless)

Per-edge activations and the sparsity penalty these build on live below, in
:mod:`kanpde.models.kan.edges` and :mod:`kanpde.train.sparsity`; ``kanpde-explain
<run dir>``, which runs all of it on a finished run, is :mod:`kanpde.app.explain_pipeline`.
"""

from kanpde.explain.figures import LayerPlotData, layer_figure, network_figure
from kanpde.explain.finetune import finetune, pde_loss
from kanpde.explain.fit import EdgeFit, fit_edge, fit_function, rank_fits
from kanpde.explain.formula import Formula, formula_error, tidy
from kanpde.explain.importance import edge_magnitudes, edge_scores, node_scores
from kanpde.explain.library import LIBRARY, LibraryFunction, get_functions
from kanpde.explain.pruning import (
    apply_masks,
    current_masks,
    live_counts,
    prune_masks,
    prune_model,
)
from kanpde.explain.symbolic import SymbolicKAN

__all__ = [
    "LIBRARY",
    "EdgeFit",
    "Formula",
    "LayerPlotData",
    "LibraryFunction",
    "SymbolicKAN",
    "apply_masks",
    "current_masks",
    "edge_magnitudes",
    "edge_scores",
    "finetune",
    "fit_edge",
    "fit_function",
    "formula_error",
    "get_functions",
    "layer_figure",
    "live_counts",
    "network_figure",
    "node_scores",
    "pde_loss",
    "prune_masks",
    "prune_model",
    "rank_fits",
    "tidy",
]
