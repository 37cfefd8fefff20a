"""Registry of KAN bases: ``make_basis(name, ...)`` for ``"bspline"``, ``"chebyshev"``, ``"rbf"``.

All bases of a KAN with ``grid_size=G, spline_order=k`` default to ``n = G + k`` functions per
feature, so the parameter count does not depend on the basis:

    bspline:    B-splines of order k on G intervals over grid_range (options: none)
    chebyshev:  T_0..T_degree of tanh(x), degree = G + k - 1 by default (options: degree)
    rbf:        Gaussians on n_centers = G + k centres over grid_range (options: n_centers,
                width)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from kanpde.models.bases.basis import DEFAULT_SPLINE_ORDER, Basis
from kanpde.models.bases.bspline import BSplineBasis
from kanpde.models.bases.chebyshev import ChebyshevBasis
from kanpde.models.bases.rbf import RBFBasis

BASES: dict[str, type[Basis]] = {
    "bspline": BSplineBasis,
    "chebyshev": ChebyshevBasis,
    "rbf": RBFBasis,
}

_OPTIONS: dict[str, tuple[str, ...]] = {
    "bspline": (),
    "chebyshev": ("degree",),
    "rbf": ("n_centers", "width"),
}


def basis_option_names() -> list[str]:
    """Every option some basis takes (``KAN(..., **basis_options)``), sorted."""
    return sorted({name for names in _OPTIONS.values() for name in names})


def check_basis_name(name: str) -> str:
    if not isinstance(name, str) or name not in BASES:
        raise ValueError(f"basis={name!r} is not one of {sorted(BASES)}")
    return name


def check_basis_options(name: str, options: dict[str, Any]) -> None:
    allowed = _OPTIONS[check_basis_name(name)]
    for key in options:
        if key not in allowed:
            raise ValueError(
                f"unknown option {key!r} for basis={name!r}; allowed options: {list(allowed)}"
            )


def make_basis(
    name: str,
    in_features: int,
    grid_size: int = 5,
    spline_order: int = DEFAULT_SPLINE_ORDER,
    grid_range: Sequence[float] = (-1.0, 1.0),
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    **options: Any,
) -> Basis:
    """Build the basis ``name`` for ``in_features`` inputs (see the module docstring)."""
    check_basis_options(name, options)
    if name == "bspline":
        return BSplineBasis(in_features, grid_size, spline_order, grid_range, dtype=dtype,
                            device=device)
    if name == "chebyshev":
        degree = options.get("degree", grid_size + spline_order - 1)
        return ChebyshevBasis(in_features, degree)
    n_centers = options.get("n_centers", grid_size + spline_order)
    return RBFBasis(in_features, n_centers, grid_range, options.get("width"), dtype=dtype,
                    device=device)
