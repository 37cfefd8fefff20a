"""The univariate bases of KAN edges: B-splines (:mod:`.bspline`, the polynomial pieces in
:mod:`.bspline_pieces`), Chebyshev polynomials of ``tanh(x)`` (:mod:`.chebyshev`) and
Gaussian radial functions (:mod:`.rbf`), behind one base class (:mod:`.basis`) and one
factory (:mod:`.factory`: ``make_basis(name, ...)``)."""

from kanpde.models.bases.basis import DEFAULT_SPLINE_ORDER, Basis
from kanpde.models.bases.bspline import BSplineBasis
from kanpde.models.bases.chebyshev import ChebyshevBasis
from kanpde.models.bases.factory import BASES, check_basis_name, check_basis_options, make_basis
from kanpde.models.bases.rbf import RBFBasis

__all__ = ["BASES", "DEFAULT_SPLINE_ORDER", "BSplineBasis", "Basis", "ChebyshevBasis",
           "RBFBasis", "check_basis_name", "check_basis_options", "make_basis"]
