"""kanpde: physics-informed Kolmogorov-Arnold Networks for partial differential equations.

The public API, re-exported here:

    models   KAN, MLP, SIREN, FourierMLP, ScaledModel, Embedded, PeriodicEmbedding,
             FourierEmbedding, Jet, count_parameters, match_width
    pde      Problem, Box, make_sampler, make_derivatives, HardConstraint
    train    Trainer, TrainConfig, TrainResult
    io       read_run, write_run
    native   native_status (whether the fused C kernels of KAN jets are in use, or why not)

Interpretability (:mod:`kanpde.explain`, which loads sympy and matplotlib) is imported from
its own package.
"""

from kanpde.core.version import __version__
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

__all__ = [
    "KAN",
    "MLP",
    "SIREN",
    "Box",
    "Embedded",
    "FourierEmbedding",
    "FourierMLP",
    "HardConstraint",
    "Jet",
    "PeriodicEmbedding",
    "Problem",
    "ScaledModel",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "__version__",
    "count_parameters",
    "make_derivatives",
    "match_width",
    "make_sampler",
    "native_status",
    "read_run",
    "write_run",
]
