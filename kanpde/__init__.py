"""kanpde: physics-informed Kolmogorov-Arnold Networks for partial differential equations.

The public API, re-exported here (each name is loaded from its module on first use, so that
``import kanpde`` and reading results with :mod:`kanpde.results` do not load torch):

    models   KAN, MLP, SIREN, FourierMLP, ScaledModel, Embedded, PeriodicEmbedding,
             FourierEmbedding, Fields, Jet, count_parameters, match_width
    pde      Problem, Box, Disk, Polygon, Ball, Cuboid, SpaceTime, Boundary, make_sampler,
             make_derivatives, HardConstraint, Observations,
             load_observations, generate_observations
    train    Trainer, TrainConfig, TrainResult
    results  read_run, write_run
    native   native_status (whether the fused C kernels of KAN jets are in use, or why not)

Interpretability (:mod:`kanpde.explain`, which loads sympy and matplotlib) is imported from
its own package.
"""

from importlib import import_module

from kanpde.core.version import __version__

#: public name -> the module that defines it
API: dict[str, str] = {
    **dict.fromkeys(("KAN", "MLP", "SIREN", "Embedded", "Fields", "FourierEmbedding",
                     "FourierMLP", "Jet",
                     "PeriodicEmbedding", "ScaledModel", "count_parameters", "match_width"),
                    "kanpde.models"),
    **dict.fromkeys(("Ball", "Boundary", "Box", "Cuboid", "Disk", "HardConstraint",
                     "Observations", "Polygon", "Problem", "SpaceTime", "generate_observations",
                     "load_observations", "make_derivatives",
                     "make_sampler"), "kanpde.pde"),
    **dict.fromkeys(("TrainConfig", "Trainer", "TrainResult"), "kanpde.train"),
    **dict.fromkeys(("read_run", "write_run"), "kanpde.results"),
    "native_status": "kanpde.native",
}


def __getattr__(name: str):
    if name in API:
        value = getattr(import_module(API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kanpde' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *API])


__all__ = ["__version__", *API]
