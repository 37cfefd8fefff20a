"""Neural-network models for physics-informed learning: pure ``torch.nn`` modules.

KAN (B-spline, Chebyshev and RBF bases), MLP, SIREN, random-Fourier-feature MLP, input
scaling, parameter counting, and the derivative :class:`Jet` every model can propagate with
``forward_jet``. Nothing here knows about PDEs or training.
"""

from kanpde.core.jet import Jet
from kanpde.models.activations import ACTIVATIONS, get_activation
from kanpde.models.backbone import backbone, grid_size_of, kan_backbone
from kanpde.models.bases.basis import Basis
from kanpde.models.bases.bspline import BSplineBasis
from kanpde.models.bases.chebyshev import ChebyshevBasis
from kanpde.models.bases.factory import BASES, make_basis
from kanpde.models.bases.rbf import RBFBasis
from kanpde.models.compiled import CompiledModel
from kanpde.models.embedding import Embedded, FourierEmbedding, PeriodicEmbedding
from kanpde.models.fields import Fields
from kanpde.models.fourier import FourierMLP
from kanpde.models.kan.layer import KANLayer
from kanpde.models.kan.network import KAN
from kanpde.models.mlp import MLP
from kanpde.models.params import count_parameters, match_width, parameter_count
from kanpde.models.scaling import InputScaling, ScaledModel
from kanpde.models.siren import SIREN

__all__ = [
    "Embedded",
    "FourierEmbedding",
    "Fields",
    "PeriodicEmbedding",
    "ACTIVATIONS",
    "BASES",
    "KAN",
    "MLP",
    "SIREN",
    "BSplineBasis",
    "Basis",
    "ChebyshevBasis",
    "CompiledModel",
    "FourierMLP",
    "InputScaling",
    "Jet",
    "KANLayer",
    "RBFBasis",
    "ScaledModel",
    "backbone",
    "count_parameters",
    "get_activation",
    "grid_size_of",
    "kan_backbone",
    "make_basis",
    "match_width",
    "parameter_count",
]
