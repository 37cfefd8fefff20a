"""Interpretability of trained KANs: edge plots, importance, pruning, symbolic formulas.

    activations     per-edge activations phi_ij(x_i) (N, in, out) over given points
    importance      edge and node scores from activation magnitudes (KAN paper 2.5.1)
    regularization  L1 + entropy sparsity penalty (train.sparsity in the training config)
    pruning         edge masks below a score threshold, dead nodes removed
    library, fit    a * g(b x + c) + d over a library of functions, ranked by R^2, complexity
    symbolic        SymbolicKAN: locked edges with learnable affine parameters; sympy formula
    finetune        L-BFGS on the PDE loss
    formula         expand, snap constants, simplify, error against the reference
    figures         edge plots with input histograms, network diagram (headless)
    runs            a finished run rebuilt from run.h5 (problem, model, training points)
    pipeline, cli   ``kanpde-explain <run dir>``: all of it from a finished run
"""

from kanpde.explain.activations import (
    LayerActivations,
    edge_activations,
    kan_backbone,
    model_activations,
    network_activations,
)
from kanpde.explain.figures import LayerPlotData, layer_figure, network_figure
from kanpde.explain.finetune import finetune, pde_loss
from kanpde.explain.fit import EdgeFit, fit_edge, fit_function, rank_fits
from kanpde.explain.formula import Formula, formula_error, tidy
from kanpde.explain.importance import edge_magnitudes, edge_scores, node_scores
from kanpde.explain.library import LIBRARY, LibraryFunction, get_functions
from kanpde.explain.pipeline import ExplainOptions, explain_run
from kanpde.explain.pruning import (
    apply_masks,
    current_masks,
    live_counts,
    prune_masks,
    prune_model,
)
from kanpde.explain.regularization import layer_entropy, layer_l1, sparsity_penalty
from kanpde.explain.runs import LoadedRun, accuracy, load_run, training_points
from kanpde.explain.symbolic import SymbolicKAN

__all__ = [
    "LIBRARY",
    "EdgeFit",
    "ExplainOptions",
    "Formula",
    "LayerActivations",
    "LayerPlotData",
    "LoadedRun",
    "LibraryFunction",
    "SymbolicKAN",
    "accuracy",
    "apply_masks",
    "current_masks",
    "edge_activations",
    "edge_magnitudes",
    "edge_scores",
    "explain_run",
    "finetune",
    "fit_edge",
    "fit_function",
    "formula_error",
    "get_functions",
    "kan_backbone",
    "layer_entropy",
    "layer_figure",
    "layer_l1",
    "live_counts",
    "load_run",
    "model_activations",
    "network_activations",
    "network_figure",
    "node_scores",
    "pde_loss",
    "prune_masks",
    "prune_model",
    "rank_fits",
    "sparsity_penalty",
    "tidy",
    "training_points",
]
