"""The PDE side of kanpde: domains, samplers, conditions, derivatives and the Problem class.

Nothing here knows about training or Hydra. A problem (see ``problems/``) subclasses
:class:`Problem`, declares its domain (a :class:`Box`, a planar :class:`Shape`:
:class:`Disk`, :class:`Polygon` and their set operations, an n-D :class:`Solid`:
:class:`Ball`, :class:`Cuboid` and their set operations, or a :class:`SpaceTime` over one)
and its conditions, and writes its
residual against the derivative accessor returned by :func:`make_derivatives`.
"""

from kanpde.pde.coefficients import Coefficients
from kanpde.pde.conditions import (
    Condition,
    Dirichlet,
    InitialRate,
    InitialValue,
    Neumann,
    Periodic,
    Robin,
)
from kanpde.pde.constraint import HardConstraint
from kanpde.pde.derivatives import ENGINES, Derivatives, make_derivatives
from kanpde.pde.exact import ExactSolution
from kanpde.pde.fields import Field, FunctionField, GridField, PiecewiseConstant, lognormal_grid
from kanpde.pde.geometry import (
    Ball,
    Boundary,
    Box,
    Cuboid,
    Difference,
    Disk,
    Domain,
    Face,
    Intersection,
    Polygon,
    Shape,
    Solid,
    SpaceTime,
    Union,
)
from kanpde.pde.observations import (
    DataCondition,
    Observations,
    generate_observations,
    load_observations,
    save_observations,
)
from kanpde.pde.problem import Problem, check_positive, check_variant
from kanpde.pde.rad import rad_probabilities, rad_resample
from kanpde.pde.random_field import GaussianRandomField
from kanpde.pde.sampling import (
    SAMPLERS,
    GridSampler,
    HaltonSampler,
    LHSSampler,
    Sampler,
    SobolSampler,
    UniformSampler,
    make_sampler,
    sample_face,
    sample_faces,
    split_count,
)

__all__ = [
    "ENGINES",
    "SAMPLERS",
    "Ball",
    "Boundary",
    "Box",
    "Coefficients",
    "Condition",
    "Cuboid",
    "DataCondition",
    "Derivatives",
    "Difference",
    "Dirichlet",
    "Disk",
    "Domain",
    "ExactSolution",
    "Face",
    "Field",
    "FunctionField",
    "GaussianRandomField",
    "GridField",
    "GridSampler",
    "HaltonSampler",
    "HardConstraint",
    "InitialRate",
    "InitialValue",
    "Intersection",
    "LHSSampler",
    "Neumann",
    "Observations",
    "Periodic",
    "PiecewiseConstant",
    "Polygon",
    "Problem",
    "Robin",
    "Sampler",
    "Shape",
    "SobolSampler",
    "Solid",
    "SpaceTime",
    "UniformSampler",
    "Union",
    "check_positive",
    "check_variant",
    "generate_observations",
    "load_observations",
    "lognormal_grid",
    "make_derivatives",
    "make_sampler",
    "rad_probabilities",
    "rad_resample",
    "sample_face",
    "sample_faces",
    "save_observations",
    "split_count",
]
