"""Parameter counting and width matching for fair comparisons between model families.

``parameter_count(family, widths, **kw)`` is the analytic trainable-parameter count:

    kan:      sum_l d_{l-1} d_l (n + 2),  n = basis functions per edge (bspline: G + k;
              chebyshev: degree + 1; rbf: n_centers; both default to G + k)
    mlp/siren: sum_l d_l (d_{l-1} + 1)
    fourier:  the MLP on [2 n_features, widths[1:]] (the Fourier matrix B is not trained)

``match_width(family, target_params, dim_in, dim_out, depth, **kw)`` returns the hidden width
``w`` of ``[dim_in] + [w] * depth + [dim_out]`` whose count is closest to ``target_params``
(ties: the smaller width).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from kanpde.models.bases.basis import DEFAULT_SPLINE_ORDER
from kanpde.models.bases.factory import check_basis_name
from kanpde.models.common import check_positive_int, check_widths

FAMILIES = ("kan", "mlp", "siren", "fourier")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars (``requires_grad`` parameters) of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _kan_functions(kw: dict[str, Any]) -> int:
    g = kw.get("grid_size", 5)
    k = kw.get("spline_order", DEFAULT_SPLINE_ORDER)
    basis = check_basis_name(kw.get("basis", "bspline"))
    if basis == "chebyshev":
        return kw.get("degree", g + k - 1) + 1
    if basis == "rbf":
        return kw.get("n_centers", g + k)
    return g + k


def _dense_count(widths: Sequence[int]) -> int:
    return sum(b * (a + 1) for a, b in zip(widths[:-1], widths[1:], strict=True))


def parameter_count(family: str, widths: Sequence[int], **kwargs: Any) -> int:
    """Analytic trainable-parameter count of ``family`` with ``widths`` (see module doc)."""
    widths = check_widths(widths)
    if family == "kan":
        n = _kan_functions(kwargs)
        return sum(a * b * (n + 2) for a, b in zip(widths[:-1], widths[1:], strict=True))
    if family in ("mlp", "siren"):
        return _dense_count(widths)
    if family == "fourier":
        m = kwargs.get("n_features", 64)
        return _dense_count([2 * m, *widths[1:]])
    raise ValueError(f"family={family!r} is not one of {list(FAMILIES)}")


def match_width(
    family: str,
    target_params: int,
    dim_in: int,
    dim_out: int,
    depth: int,
    **kwargs: Any,
) -> int:
    """Hidden width of ``[dim_in] + [w] * depth + [dim_out]`` with the count closest to target."""
    if family not in FAMILIES:
        raise ValueError(f"family={family!r} is not one of {list(FAMILIES)}")
    check_positive_int(target_params, "target_params")
    check_positive_int(dim_in, "dim_in")
    check_positive_int(dim_out, "dim_out")
    check_positive_int(depth, "depth")

    def count(w: int) -> int:
        return parameter_count(family, [dim_in] + [w] * depth + [dim_out], **kwargs)

    hi = 1
    while count(hi) < target_params:
        hi *= 2
    lo = max(hi // 2, 1)
    while hi - lo > 1:  # count(lo) < target <= count(hi) (or hi == 1)
        mid = (lo + hi) // 2
        if count(mid) < target_params:
            lo = mid
        else:
            hi = mid
    candidates = sorted({lo, hi})
    return min(candidates, key=lambda w: (abs(count(w) - target_params), w))
