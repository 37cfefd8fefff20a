"""kanpde: physics-informed Kolmogorov-Arnold Networks for partial differential equations.

The public API, re-exported here:

    models   KAN, MLP, SIREN, FourierMLP, ScaledModel, Embedded, PeriodicEmbedding,
             FourierEmbedding, Jet, count_parameters, match_width
    pde      Problem, Box, make_sampler, make_derivatives, HardConstraint
    train    Trainer, TrainConfig, TrainResult
    io       read_run, write_run
    native   native_status (whether the fused C kernels of KAN jets are in use, or why not)
    explain  explain_run, ExplainOptions, SymbolicKAN, prune_model, sparsity_penalty
             (imported on first use: sympy and matplotlib load only when needed)
"""

__version__ = "0.1.0"

from kanpde.io import read_run, write_run
from kanpde.models import (
    KAN,
    MLP,
    SIREN,
    Embedded,
    FourierEmbedding,
    FourierMLP,
    Jet,
    PeriodicEmbedding,
    ScaledModel,
    count_parameters,
    match_width,
)
from kanpde.native import native_status
from kanpde.pde import Box, HardConstraint, Problem, make_derivatives, make_sampler
from kanpde.train import TrainConfig, Trainer, TrainResult

_EXPLAIN = ("ExplainOptions", "SymbolicKAN", "explain_run", "prune_model", "sparsity_penalty")


def __getattr__(name: str):
    """The interpretability names of :mod:`kanpde.explain`, imported on first access."""
    if name in _EXPLAIN:
        import kanpde.explain as _explain

        return getattr(_explain, name)
    raise AttributeError(f"module 'kanpde' has no attribute {name!r}")


__all__ = [
    "KAN",
    "MLP",
    "SIREN",
    "Box",
    "Embedded",
    "ExplainOptions",
    "FourierEmbedding",
    "FourierMLP",
    "HardConstraint",
    "Jet",
    "PeriodicEmbedding",
    "Problem",
    "ScaledModel",
    "SymbolicKAN",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "__version__",
    "count_parameters",
    "explain_run",
    "make_derivatives",
    "match_width",
    "make_sampler",
    "native_status",
    "prune_model",
    "read_run",
    "sparsity_penalty",
    "write_run",
]
